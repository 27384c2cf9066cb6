package httpapi

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/botgate/botgate"
)

// DefaultBodyReadTimeout is how long a request body may take to arrive
// unless Config.BodyReadTimeout says otherwise.
const DefaultBodyReadTimeout = 30 * time.Second

// errBodyTimeout is returned for a body that did not arrive within the
// body read timeout; it is answered 408 and the connection closed.
var errBodyTimeout = &botgate.Error{Kind: botgate.KindInvalid, Message: "the request body did not arrive in time"}

// bodyDeadline bounds the time a request's body may take to arrive, so
// that a client trickling a body cannot hold a connection and a handler
// for minutes. The deadline is lifted once the body has been read to its
// end: unlike http.Server.ReadTimeout, it then neither cuts off a slow
// answer nor cancels the request's context (the server's background read
// would fail on the expired deadline and cancel it).
func bodyDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d <= 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Now().Add(d)); err != nil {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	once sync.Once
	lift func()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}

// isTimeout reports whether err is a read that hit its deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
