package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/edge"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/ratelimit"
)

// errNoRoute answers a proxied request that no route serves.
var errNoRoute = &botgate.Error{Kind: botgate.KindNotFound, Reason: botgate.ReasonNoRoute, Message: "no gateway route for this host and path"}

// proxyState is what the handler decided, handed to the ReverseProxy hooks
// through the request's context.
type proxyState struct {
	d          decision
	credHeader string
	credValue  string
	trusted    bool   // the peer is a trusted proxy: keep its X-Forwarded-*
	clientIP   string // the client's address, as edge.Trust.ClientIP found it
}

type proxyStateKey struct{}

// Proxy returns the reverse proxy handler: each request is matched to a
// route, decided on exactly as ForwardAuth decides, and if allowed
// forwarded to the route's upstream with the caller's token removed and
// the route's upstream credential put in its place.
func (g *Gateway) Proxy() http.Handler { return http.HandlerFunc(g.serveProxy) }

func (g *Gateway) serveProxy(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	pi, err := g.paths.get(requestPath(r))
	if err != nil {
		g.writeDecision(w, r, modeProxy, decision{err: err, result: resultInvalid})
		g.observe(modeProxy, resultInvalid, start)
		return
	}
	rt := matchRoute(g.cfg.routes, r.Host, pi.canonical)
	var proxy http.Handler
	if rt != nil {
		proxy = g.proxies[rt]
	}
	if proxy == nil {
		httpapi.WriteError(w, errNoRoute)
		g.observe(modeProxy, resultNoRoute, start)
		return
	}
	if err := edge.Method(r.Method, r.Header, r.URL.RawQuery); err != nil {
		g.writeDecision(w, r, modeProxy, decision{err: err, result: resultInvalid})
		g.observe(modeProxy, resultInvalid, start)
		return
	}
	ip, trusted := g.cfg.trust.ClientIP(r.RemoteAddr, r.Header)
	o := original{method: r.Method, path: pi.canonical, rawQuery: r.URL.RawQuery, host: r.Host,
		ip: ip, userAgent: r.UserAgent(), bodyLen: -1}
	o.token, err = edge.Credential(r.Header, o.rawQuery, g.cfg.credentials)
	if err != nil && !errors.Is(err, edge.ErrNoCredential) {
		// A malformed or ambiguous credential: refused before decide.
		g.writeDecision(w, r, modeProxy, decision{err: err, result: resultUnauthenticated})
		g.observe(modeProxy, resultUnauthenticated, start)
		return
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		head, complete, err := g.readBodyHead(w, r)
		if err != nil {
			// The client went away mid-body, sent a broken one, or is too
			// slow: nothing is forwarded.
			g.refuseBody(w, r, err)
			g.observe(modeProxy, resultInvalid, start)
			return
		}
		if edge.FormMethodOverride(r.Header.Get("Content-Type"), head) ||
			(!complete && edge.FormMethodOverride(r.Header.Get("Content-Type"), []byte("_method"))) {
			// A form body is read whole upstream; one longer than what the
			// gateway inspects could hide _method past it.
			g.writeDecision(w, r, modeProxy, decision{err: botgate.Invalid("method", "a method override in the form body (_method) is refused: send the method itself"), result: resultInvalid})
			g.observe(modeProxy, resultInvalid, start)
			return
		}
		o.setBody(head, complete, r.ContentLength, g.cfg.bodyBytes)
		r.Body = &restoredBody{head: head, rest: r.Body, complete: complete}
	}
	d := g.decide(r.Context(), &o, pi, rt)
	g.holdRefusal(r, d)
	if !g.writeDecision(w, r, modeProxy, d) {
		g.observe(modeProxy, d.result, start)
		return
	}
	st := &proxyState{d: d, trusted: trusted, clientIP: ip}
	st.credHeader, st.credValue, err = g.creds.Credential(r.Context(), Route{
		Name: rt.name, Upstream: rt.upstream.String(), Credential: rt.credential, Header: rt.credHeader, Prefix: rt.credPrefix,
	}, d.id)
	if err != nil {
		g.log.Error("upstream credential unavailable", "route", rt.name, "err", err)
		writeStatus(w, http.StatusBadGateway, "502 Bad Gateway - the upstream credential of route "+rt.name+" is not available")
		g.observe(modeProxy, resultError, start)
		return
	}
	g.observe(modeProxy, d.result, start)
	proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), proxyStateKey{}, st)))
}

// newProxy builds the route's ReverseProxy.
func (g *Gateway) newProxy(rt *route) http.Handler {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: rt.dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: rt.timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &httputil.ReverseProxy{
		Transport:     tr,
		FlushInterval: -1, // stream: flush every write
		Rewrite: func(pr *httputil.ProxyRequest) {
			st, _ := pr.In.Context().Value(proxyStateKey{}).(*proxyState)
			if st == nil {
				// Not a request serveProxy decided on: forward nothing.
				pr.Out.URL = &url.URL{Scheme: "http", Host: "invalid.invalid"}
				return
			}
			// Forward exactly the canonical path the decision was taken on.
			setCanonicalPath(pr.Out.URL, st.d.path.canonical)
			pr.SetURL(rt.upstream)
			h := pr.Out.Header
			for _, k := range edge.ClientAddressHeaders {
				delete(h, k) // only botgate says where the client is
			}
			if st.trusted {
				h["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			}
			pr.SetXForwarded()
			h.Set("X-Real-Ip", st.clientIP)
			for _, k := range edge.CredentialHeaders {
				delete(h, k)
			}
			for k := range h {
				if strings.HasPrefix(k, "X-Botgate-") {
					delete(h, k) // never let a caller speak for botgate
				}
			}
			pr.Out.URL.RawQuery = edge.StripQueryTokens(pr.Out.URL.RawQuery)
			// The values decide derived once for this identity; the
			// upstream only reads them.
			info := st.d.info
			h[HeaderUser] = info.header(valueUser)
			h[HeaderTokenID] = info.header(valueTokenID)
			if st.d.id.Token.Automation != "" {
				h[HeaderAutomation] = info.header(valueAutomation)
			}
			if st.credHeader != "" {
				h.Set(st.credHeader, st.credValue)
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			st, _ := resp.Request.Context().Value(proxyStateKey{}).(*proxyState)
			if st == nil || !st.d.hasLimit {
				return nil
			}
			// The gateway's rate-limit headers are already on the response
			// (writeDecision), and ReverseProxy adds the upstream's to them:
			// drop the upstream's so that each header has one value.
			for _, k := range []string{ratelimit.HeaderLimit, ratelimit.HeaderRemaining, ratelimit.HeaderObserved,
				ratelimit.HeaderReset, ratelimit.HeaderResetTime} {
				resp.Header.Del(k)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				// The client went away: nobody to answer.
				return
			}
			kind, status, msg := "unavailable", http.StatusBadGateway, "502 Bad Gateway - the upstream of route "+rt.name+" is unavailable"
			var ne net.Error
			if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
				kind, status, msg = "timeout", http.StatusGatewayTimeout, "504 Gateway Timeout - the upstream of route "+rt.name+" did not answer in time"
			}
			g.metrics.upstreamErrors.WithLabelValues(rt.name, kind).Inc()
			g.log.Warn("upstream request failed", "route", rt.name, "kind", kind, "err", err)
			writeStatus(w, status, msg)
		},
		ErrorLog: nil,
	}
}

// writeStatus writes a GitLab-style {"message": msg} body.
func writeStatus(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"message":`+strconv.Quote(msg)+"}\n")
}

// readBodyHead reads the first bytes of the request's body for the loop
// breaker, within the body read timeout.
func (g *Gateway) readBodyHead(w http.ResponseWriter, r *http.Request) ([]byte, bool, error) {
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(g.cfg.bodyTimeout)) == nil
	head, complete, err := readBody(r.Body, r.ContentLength, g.cfg.bodyBytes)
	if deadline && err == nil {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return head, complete, err
}

// refuseBody answers a request whose body could not be read: 408 if the
// client was too slow, 400 otherwise.
func (g *Gateway) refuseBody(w http.ResponseWriter, r *http.Request, err error) {
	// The rest of the body will not come: close the connection after the
	// answer rather than wait to drain it.
	w.Header().Set("Connection", "close")
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		writeStatus(w, http.StatusRequestTimeout, "408 Request Timeout - the request body did not arrive in time")
		return
	}
	g.writeDecision(w, r, modeProxy, decision{err: botgate.Invalid("body", "the request body could not be read completely"), result: resultInvalid})
}

// readBody reads up to limit bytes of a body, plus one to learn whether
// there is more. It returns what it read and whether that is the whole
// body; err is set if the body broke off (the client went away mid-body,
// or sent a malformed chunk).
func readBody(body io.Reader, contentLength int64, limit int) (buf []byte, complete bool, err error) {
	size := limit + 1
	if contentLength >= 0 && contentLength < int64(limit) {
		size = int(contentLength) + 1
	}
	buf = make([]byte, size)
	n := 0
	for n < len(buf) {
		m, err := body.Read(buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			return buf[:n], true, nil
		}
		if err != nil {
			return buf[:n], false, err
		}
	}
	return buf[:n], false, nil
}

// restoredBody replays the bytes read for the breaker, then the rest.
type restoredBody struct {
	head     []byte
	rest     io.ReadCloser
	complete bool
}

func (p *restoredBody) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	if p.complete {
		return 0, io.EOF
	}
	return p.rest.Read(b)
}

func (p *restoredBody) Close() error { return p.rest.Close() }

// requestPath returns the path of the request target exactly as the client
// sent it, not as net/url re-escaped it: the bytes every decision starts
// from.
func requestPath(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		p, _, _ := strings.Cut(r.RequestURI, "?")
		return p
	}
	return r.URL.EscapedPath()
}

// setCanonicalPath makes u's path the canonical escaped path, so that
// u.EscapedPath() returns it unchanged.
func setCanonicalPath(u *url.URL, canonical string) {
	p, err := url.PathUnescape(canonical)
	if err != nil {
		p = canonical // cannot happen: canonical escapes are valid
	}
	u.Path, u.RawPath = p, canonical
}
