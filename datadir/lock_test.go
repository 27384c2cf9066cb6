package datadir

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLockIsExclusive(t *testing.T) {
	d := Dir{Path: filepath.Join(t.TempDir(), "data")}
	l, err := d.Lock()
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Lock()
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: %v, want ErrLocked", err)
	}
	if want := "pid " + strconv.Itoa(os.Getpid()); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), d.Path) {
		t.Errorf("the refusal %q does not name the holder (%s) and the directory", err, want)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := d.Lock()
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	l2.Unlock()
}

// TestLockAcrossProcesses holds the lock in a child process (this test
// binary, running TestHoldLock) and takes it here.
func TestLockAcrossProcesses(t *testing.T) {
	d := Dir{Path: t.TempDir()}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldLock$")
	cmd.Env = append(os.Environ(), "DATADIR_HOLD_LOCK="+d.Path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("the child did not take the lock: %q %v", line, err)
	}
	_, err = d.Lock()
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("Lock while another process holds it: %v; want ErrLocked naming pid %d", err, cmd.Process.Pid)
	}
	stdin.Close()
	cmd.Wait()
	l, err := d.Lock()
	if err != nil {
		t.Fatalf("Lock after the other process ended: %v", err)
	}
	l.Unlock()
}

// TestHoldLock is TestLockAcrossProcesses's child: it takes the lock,
// says so and holds it until its standard input closes.
func TestHoldLock(t *testing.T) {
	dir := os.Getenv("DATADIR_HOLD_LOCK")
	if dir == "" {
		t.Skip("the child of TestLockAcrossProcesses; runs only there")
	}
	l, err := Dir{Path: dir}.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
}
