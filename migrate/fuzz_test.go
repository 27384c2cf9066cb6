package migrate

import (
	"bytes"
	"strings"
	"testing"

	"github.com/botgate/botgate"
)

// FuzzRead: any input either reads into requests the planner accepts, or
// fails with a KindInvalid error.
func FuzzRead(f *testing.F) {
	var b bytes.Buffer
	if err := GenerateSampleLog(&b, 1, MinSampleLines); err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.SplitN(b.String(), "\n", 5)[:4] {
		f.Add(l)
	}
	f.Add(`{"time":"2026-11-16T10:00:00Z","method":"GET","path":"/api/v4/projects/%zz/issues"}`)
	f.Add(`{"time":"2026-11-16T10:00:00Z","method":"POST","path":"/a.git/git-receive-pack","status":"201"}`)
	f.Fuzz(func(t *testing.T, in string) {
		reqs, err := Read(strings.NewReader(in))
		if err != nil {
			if !botgate.IsKind(err, botgate.KindInvalid) {
				t.Fatalf("error of kind %v: %v", botgate.KindOf(err), err)
			}
			return
		}
		if len(reqs) == 0 {
			return
		}
		if _, err := Plan(reqs, Options{Owner: "fuzz"}); err != nil && !botgate.IsKind(err, botgate.KindInvalid) {
			t.Fatalf("plan failed: %v", err)
		}
	})
}
