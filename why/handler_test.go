package why

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf-go/spf"
)

// newTestHandler returns a handler on the test zone whose clients are
// allowed a burst of burst requests, and the number of DNS queries made.
func newTestHandler(t *testing.T, burst int) (*Handler, *atomic.Int64) {
	t.Helper()
	var queries atomic.Int64
	c := &spf.Checker{
		Resolver: testZone(t),
		Receiver: "mx.example.net",
		Trace: func(ev spf.Event) {
			if ev.Kind == spf.EventQuery {
				queries.Add(1)
			}
		},
	}
	return NewHandler(c, &Options{Burst: burst, Rate: 0.001}), &queries
}

// get makes one request to h and returns the response and its body.
func get(t *testing.T, h http.Handler, target string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestHandlerParameters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		status int
		want   []string // in the body
	}{
		{"ampersand", "/Why?id=alice%40example.com&ip=198.51.100.7&r=mx.example.net", 200, []string{`class="result fail"`, "alice@example.com", "198.51.100.7"}},
		{"semicolon", "/Why?id=alice%40example.com;ip=198.51.100.7;r=mx.example.net", 200, []string{`class="result fail"`, "alice@example.com"}},
		{"mixed and openspf names", "/Why?sender=alice@example.com;ip=192.0.2.10&receiver=mx.example.net", 200, []string{`class="result pass"`}},
		{"helo scope", "/Why?s=helo&id=mail.example.com&ip=192.0.2.10", 200, []string{`class="result pass"`, "checked that HELO name"}},
		{"ipv6", "/Why?id=bob%40plain.example.org&ip=2001%3Adb8%3A%3A7", 200, []string{`class="result fail"`, "ip6:2001:db8::7"}},
		{"none", "/Why?id=bob@norecord.example.org&ip=192.0.2.1", 200, []string{`class="result none"`, "has not published an SPF policy"}},
		{"form", "/Why", 200, []string{"<form", `name="ip"`, "Why was my mail refused?"}},
		{"unknown parameters only", "/Why?utm=x", 200, []string{"<form"}},
		{"missing ip", "/Why?id=alice%40example.com", 400, []string{"the parameter ip (the client&#39;s IP address) is missing"}},
		{"missing id", "/Why?ip=192.0.2.1", 400, []string{"the parameter id", "is missing"}},
		{"bad ip", "/Why?id=a@example.com&ip=300.1.2.3", 400, []string{"ip: &#34;300.1.2.3&#34; is not an IP address"}},
		{"ip with zone", "/Why?id=a@example.com&ip=fe80::1%25eth0", 400, []string{"is not an IP address"}},
		{"bad scope", "/Why?id=a@example.com&ip=192.0.2.1&s=pra", 400, []string{"s: must be mfrom or helo"}},
		{"twice", "/Why?id=a@example.com&ip=192.0.2.1&id=b@example.com", 400, []string{"parameter id is given twice"}},
		{"bad escape", "/Why?id=a%zz&ip=192.0.2.1", 400, []string{"not URL-encoded correctly"}},
		{"control in id", "/Why?id=a%0D%0A@example.com&ip=192.0.2.1", 400, []string{"id: contains control characters"}},
		{"long id", "/Why?ip=192.0.2.1&id=" + strings.Repeat("a", 400) + "@example.com", 400, []string{"id: longer than 320 bytes"}},
		{"long query", "/Why?ip=192.0.2.1&x=" + strings.Repeat("a", 3000), 400, []string{"the query is too long"}},
		{"bad format", "/Why?format=xml", 400, []string{"format must be html, text or json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newTestHandler(t, 100)
			res, body := get(t, h, tt.target, nil)
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d; body:\n%s", res.StatusCode, tt.status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body does not contain %q:\n%s", w, body)
				}
			}
		})
	}
}

// TestHandlerHostile checks that no markup from a parameter, a TXT record
// (exp=) or a PTR name (%{p}) reaches the page as markup, in any format.
func TestHandlerHostile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		status int
	}{
		{"exp and ptr", "/Why?id=x%40hostile.example.org&ip=198.51.100.7", 200},
		{"script in id", "/Why?id=%3Cscript%3Ealert(1)%3C/script%3E%40hostile.example.org&ip=198.51.100.7", 200},
		{"quotes in id", "/Why?id=%22%3E%3Cb%3E%27x%40hostile.example.org&ip=198.51.100.7", 200},
		{"script in ip", "/Why?id=x%40hostile.example.org&ip=%3Cscript%3Ealert(1)%3C/script%3E", 400},
		{"crlf in id", "/Why?id=x%0D%0A%3Cscript%3E%40hostile.example.org&ip=198.51.100.7", 400},
		{"script in scope", "/Why?id=x%40hostile.example.org&ip=198.51.100.7&s=%3Cscript%3E", 400},
		{"script in format", "/Why?format=%3Cscript%3E", 400},
	}
	markup := []string{"<script", "<img", "<b>", "onerror=\""}
	for _, tt := range tests {
		for _, format := range []string{"html", "text", "json"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				t.Parallel()
				h, _ := newTestHandler(t, 100)
				target := tt.target
				if strings.Contains(target, "format=") {
					if format != "html" {
						t.Skip("the target gives its own (bad) format")
					}
				} else {
					target += "&format=" + format
				}
				res, body := get(t, h, target, nil)
				if res.StatusCode != tt.status {
					t.Errorf("status %d, want %d; body:\n%s", res.StatusCode, tt.status, body)
				}
				// text/plain with nosniff is never read as markup; the
				// text is printable ASCII (checked below).
				if format == "text" {
					if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
						t.Errorf("text: Content-Type %q, nosniff %q", ct, res.Header.Get("X-Content-Type-Options"))
					}
					for i := 0; i < len(body); i++ {
						if c := body[i]; (c < 0x20 || c >= 0x7f) && c != '\n' {
							t.Fatalf("byte %#x in the text", c)
						}
					}
					return
				}
				for _, m := range markup {
					if strings.Contains(body, m) {
						t.Errorf("the body contains %q:\n%s", m, body)
					}
				}
				if strings.Contains(body, "\r") {
					t.Errorf("the body contains a CR:\n%q", body)
				}
			})
		}
	}
	// The explanation from DNS is shown, escaped, in the HTML form.
	h, _ := newTestHandler(t, 100)
	_, body := get(t, h, "/Why?id=x%40hostile.example.org&ip=198.51.100.7", nil)
	if want := "&lt;script&gt;alert(1)&lt;/script&gt;"; !strings.Contains(body, want) {
		t.Errorf("the page does not contain the escaped explanation %q:\n%s", want, body)
	}
	if want := "&lt;img src=x onerror="; !strings.Contains(body, want) {
		t.Errorf("the page does not contain the escaped PTR name %q:\n%s", want, body)
	}
}

func TestHandlerNegotiation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		accept string
		ctype  string
	}{
		{"default", "/Why?id=a@example.com&ip=198.51.100.7", "", "text/html; charset=utf-8"},
		{"browser", "/Why?id=a@example.com&ip=198.51.100.7", "text/html,application/xhtml+xml,*/*;q=0.8", "text/html; charset=utf-8"},
		{"json accept", "/Why?id=a@example.com&ip=198.51.100.7", "application/json", "application/json"},
		{"text accept", "/Why?id=a@example.com&ip=198.51.100.7", "text/plain", "text/plain; charset=utf-8"},
		{"q values", "/Why?id=a@example.com&ip=198.51.100.7", "text/html;q=0.5, application/json;q=0.9", "application/json"},
		{"q zero", "/Why?id=a@example.com&ip=198.51.100.7", "application/json;q=0, text/plain;q=0.1", "text/plain; charset=utf-8"},
		{"format wins", "/Why?id=a@example.com&ip=198.51.100.7&format=text", "application/json", "text/plain; charset=utf-8"},
		{"format json", "/Why?format=json;id=a@example.com;ip=198.51.100.7", "", "application/json"},
		{"error as json", "/Why?format=json&ip=1", "", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newTestHandler(t, 100)
			res, body := get(t, h, tt.target, map[string]string{"Accept": tt.accept})
			if got := res.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			switch tt.ctype {
			case "application/json":
				var m map[string]any
				if err := json.Unmarshal([]byte(body), &m); err != nil {
					t.Fatalf("not JSON: %v\n%s", err, body)
				}
				if res.StatusCode == 200 && m["result"] != "fail" {
					t.Errorf("result %v, want fail", m["result"])
				}
				if res.StatusCode == 400 && m["error"] == nil {
					t.Errorf("no error in %s", body)
				}
			case "text/plain; charset=utf-8":
				if !strings.HasPrefix(body, "SPF result: fail\n") {
					t.Errorf("body:\n%s", body)
				}
			}
		})
	}
}

func TestHandlerHeaders(t *testing.T) {
	t.Parallel()
	h, _ := newTestHandler(t, 100)
	for _, target := range []string{"/Why", "/Why?id=a@example.com&ip=198.51.100.7", "/Why?ip=x"} {
		res, body := get(t, h, target, nil)
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "style-src 'sha256-", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: Content-Security-Policy %q allows too much", target, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("%s: %s %q, want %q", target, k, got, want)
			}
		}
		if !strings.Contains(body, `<meta name="viewport"`) {
			t.Errorf("%s: no viewport meta", target)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/Why", strings.NewReader("ip=1"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}

// TestHandlerCSPHash checks that the hash in the policy is that of the
// page's style element, so that a browser applies it.
func TestHandlerCSPHash(t *testing.T) {
	t.Parallel()
	h, _ := newTestHandler(t, 100)
	res, body := get(t, h, "/Why", nil)
	i, j := strings.Index(body, "<style>"), strings.Index(body, "</style>")
	if i < 0 || j < i {
		t.Fatalf("no style element:\n%s", body)
	}
	h2 := NewHandler(nil, nil)
	if h2.csp != res.Header.Get("Content-Security-Policy") || body[i+len("<style>"):j] != pageCSS {
		t.Errorf("the style element is not the CSS the policy hashes")
	}
}

func TestHandlerRateLimit(t *testing.T) {
	t.Parallel()
	h, _ := newTestHandler(t, 3)
	target := "/Why?id=a@example.com&ip=198.51.100.7"
	var codes []int
	for range 5 {
		res, _ := get(t, h, target, nil)
		codes = append(codes, res.StatusCode)
	}
	if diff := cmp.Diff([]int{200, 200, 200, 429, 429}, codes); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	// Another client is not limited; the form is never limited.
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.RemoteAddr = "192.0.2.77:4000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("another client: status %d", rec.Code)
	}
	if res, _ := get(t, h, "/Why", nil); res.StatusCode != 200 {
		t.Errorf("form: status %d", res.StatusCode)
	}
	if res, _ := get(t, h, target, nil); res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

func TestHandlerClientBound(t *testing.T) {
	t.Parallel()
	now := time.Unix(1e9, 0)
	h := NewHandler(&spf.Checker{Resolver: testZone(t)}, &Options{MaxClients: 2, Burst: 1, Rate: 1, Now: func() time.Time { return now }})
	addr := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	steps := []struct {
		a    string
		want bool
	}{
		{"192.0.2.1", true},
		{"192.0.2.2", true},
		{"192.0.2.3", false}, // both remembered clients are still limited
		{"2001:db8::1", false},
	}
	for _, s := range steps {
		if got := h.allow(addr(s.a)); got != s.want {
			t.Errorf("allow(%s) = %v, want %v", s.a, got, s.want)
		}
	}
	now = now.Add(2 * time.Second) // the buckets fill up: the clients are forgotten
	if !h.allow(addr("192.0.2.3")) || len(h.clients) > 2 {
		t.Errorf("after the buckets filled: not allowed, or %d clients remembered", len(h.clients))
	}
	// IPv6 clients share the bucket of their /64.
	r1 := httptest.NewRequest(http.MethodGet, "/", nil)
	r1.RemoteAddr = "[2001:db8:1:2::1]:5000"
	r2 := httptest.NewRequest(http.MethodGet, "/", nil)
	r2.RemoteAddr = "[2001:db8:1:2:ffff::9]:5000"
	if h.clientAddr(r1) != h.clientAddr(r2) {
		t.Errorf("clientAddr: %s and %s differ", h.clientAddr(r1), h.clientAddr(r2))
	}
}

// TestHandlerCache checks that a repeated request makes no DNS query and
// that the cache stays within its size.
func TestHandlerCache(t *testing.T) {
	t.Parallel()
	var queries atomic.Int64
	c := &spf.Checker{Resolver: testZone(t), Trace: func(ev spf.Event) {
		if ev.Kind == spf.EventQuery {
			queries.Add(1)
		}
	}}
	h := NewHandler(c, &Options{CacheSize: 2, Burst: 100})
	get(t, h, "/Why?id=a@example.com&ip=198.51.100.7", nil)
	n := queries.Load()
	if n == 0 {
		t.Fatal("no query made")
	}
	get(t, h, "/Why?id=a@example.com;ip=198.51.100.7", nil)
	if got := queries.Load(); got != n {
		t.Errorf("the second request made %d queries, want 0", got-n)
	}
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		get(t, h, "/Why?id=a@example.com&ip="+ip, nil)
	}
	if h.lru.Len() != 2 || len(h.cache) != 2 {
		t.Errorf("cache holds %d (%d), want 2", h.lru.Len(), len(h.cache))
	}
}

// TestHandlerTimeout checks that a check whose DNS never answers ends in
// the handler's time.
func TestHandlerTimeout(t *testing.T) {
	t.Parallel()
	z := testZone(t)
	h := NewHandler(&spf.Checker{Resolver: slowResolver{z}}, &Options{Timeout: 100 * time.Millisecond})
	start := time.Now()
	res, body := get(t, h, "/Why?id=a@example.com&ip=198.51.100.7&format=json", nil)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
	if res.StatusCode != 200 || !strings.Contains(body, `"result":"temperror"`) || !strings.Contains(body, `"failed_lookup":"TXT example.com"`) {
		t.Errorf("status %d, body %s", res.StatusCode, body)
	}
}

// slowResolver answers nothing until its context ends.
type slowResolver struct{ spf.Resolver }

func (slowResolver) Lookup(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestHandlerCacheClientGone checks that the outcome of a check cut
// short because its client went away is not cached: else one request
// dropped at once would make the page say temperror for that sender and
// address to everyone for CacheTTL.
func TestHandlerCacheClientGone(t *testing.T) {
	t.Parallel()
	h := NewHandler(&spf.Checker{Resolver: ctxResolver{testZone(t)}}, &Options{Burst: 100})
	const target = "/Why?id=alice%40example.com&ip=198.51.100.7&format=json"
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client has gone
	req := httptest.NewRequest(http.MethodGet, target, nil).WithContext(ctx)
	h.ServeHTTP(httptest.NewRecorder(), req)
	_, body := get(t, h, target, nil)
	if !strings.Contains(body, `"result":"fail"`) {
		t.Errorf("after a request whose client went away: %s", body)
	}
}

// ctxResolver is a resolver that fails once its context has ended, as a
// resolver over the network does.
type ctxResolver struct{ r spf.Resolver }

func (c ctxResolver) Lookup(ctx context.Context, name string, typ spf.RRType) (*spf.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.r.Lookup(ctx, name, typ)
}
