package migrate

import (
	"bytes"
	"testing"
)

// BenchmarkRead and BenchmarkPlan split the cost of migrating a 100,000
// line api_json.log between parsing and grouping.
func benchLog(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := GenerateSampleLog(&buf, 1, 100_000); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkRead(b *testing.B) {
	data := benchLog(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlan(b *testing.B) {
	reqs, err := Read(bytes.NewReader(benchLog(b)))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Plan(reqs, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
