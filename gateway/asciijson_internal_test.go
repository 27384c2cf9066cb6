package gateway

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestASCIIJSON: X-Botgate-Error's value is one line of printable ASCII
// that decodes to the body it stands for, whatever the message holds.
func TestASCIIJSON(t *testing.T) {
	for _, msg := range []string{
		`plain`,
		`quotes " and \ backslash`,
		"line\nbreak\ttab\x00nul",
		"groupe «équipe» 日本 🚀",
		"<script>&amp;",
	} {
		body := map[string]any{"message": map[string]string{"error": msg}}
		h := asciiJSON(body)
		for i := 0; i < len(h); i++ {
			if h[i] < 0x20 || h[i] > 0x7e {
				t.Fatalf("%q: byte %#x at %d is not printable ASCII: %s", msg, h[i], i, h)
			}
		}
		var back map[string]any
		if err := json.Unmarshal([]byte(h), &back); err != nil {
			t.Fatalf("%q: %s does not decode: %v", msg, h, err)
		}
		want, _ := json.Marshal(body)
		var wantBack map[string]any
		json.Unmarshal(want, &wantBack)
		if !reflect.DeepEqual(back, wantBack) {
			t.Errorf("%q: decodes to %v, want %v", msg, back, wantBack)
		}
	}
}
