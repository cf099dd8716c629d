package why

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf-go/spf"
)

// Options configures a [Handler]. The zero value gives the defaults named
// for each field.
type Options struct {
	// Timeout bounds one check, DNS queries included; if zero, 5 seconds.
	// A shorter Checker.Timeout wins.
	Timeout time.Duration
	// CacheSize is how many explanations are kept, the least recently
	// used dropped first; if zero, 256.
	CacheSize int
	// CacheTTL is how long an explanation is kept; if zero, one minute.
	CacheTTL time.Duration
	// Rate is how many requests with parameters one client may make per
	// second (a token bucket per client address, IPv6 addresses by their
	// /64); if zero, 0.2 (one every five seconds).
	Rate float64
	// Burst is how many requests one client may make at once; if zero,
	// 10.
	Burst int
	// MaxClients bounds the clients remembered; if zero, 4096. When every
	// remembered client is still limited, new ones are refused too.
	MaxClients int
	// MaxChecks bounds the checks running at once; more get status 503.
	// If zero, 16.
	MaxChecks int
	// ClientAddr returns the address a request is rate-limited by; if
	// nil, the address of Request.RemoteAddr. Behind a reverse proxy, give
	// one that reads the proxy's header.
	ClientAddr func(*http.Request) netip.Addr
	// Now returns the current time; if nil, [time.Now].
	Now func() time.Time
}

// The bounds of the parameters of a request.
const (
	maxQuery = 2048 // bytes of the raw query string
	maxParam = 320  // bytes of one parameter value
)

// A Handler serves the "Why?" page: given the parameters of the openspf
// Why URL, it runs the check again with the receiver's [spf.Checker] and
// explains the outcome, as HTML (readable without JavaScript and on a
// phone), as text/plain or as JSON (see [Explanation]). Without
// parameters it shows a form.
//
// The parameters, separated by "&" or ";" as the explanation templates of
// the openspf project wrote them:
//
//	id  the MAIL FROM address (%{S}), or with s=helo the HELO name
//	ip  the client's IP address (%{C} or %{I})
//	r   the receiver (%{R}); shown nowhere, the page speaks for its own
//	    Checker's receiver, but checked like the others
//	s   the identity: mfrom (the default) or helo
//
// "sender" and "receiver" are accepted for id and r. format=html, text or
// json chooses the form of the answer; without it the Accept header does.
// Missing or malformed parameters get status 400 and a message saying
// which; too many requests from one client 429; too many checks at once
// 503.
//
// The page is public and its parameters come from strangers: it checks
// only the identity asked (no other DNS query can be made through it),
// every check is time-bounded, answers are cached and requests limited per
// client, and every text from the request or DNS is escaped. It sends a
// Content-Security-Policy that allows no script, frame, image or other
// origin, and X-Content-Type-Options: nosniff.
type Handler struct {
	checker spf.Checker
	opts    Options
	csp     string
	checks  chan struct{}

	mu      sync.Mutex
	cache   map[cacheKey]*list.Element
	lru     *list.List // of *cacheEntry, most recent first
	clients map[netip.Addr]*bucket
}

var _ http.Handler = (*Handler)(nil)

type cacheKey struct {
	ip       netip.Addr
	id       string
	heloOnly bool
}

type cacheEntry struct {
	key  cacheKey
	e    *Explanation
	when time.Time
}

// A bucket is a client's token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// NewHandler returns a Handler that checks with a copy of c (the zero
// Checker if nil) and the options (the defaults if nil).
func NewHandler(c *spf.Checker, opts *Options) *Handler {
	h := &Handler{
		cache:   make(map[cacheKey]*list.Element),
		lru:     list.New(),
		clients: make(map[netip.Addr]*bucket),
	}
	if c != nil {
		h.checker = *c
	}
	if opts != nil {
		h.opts = *opts
	}
	o := &h.opts
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if h.checker.Timeout <= 0 || h.checker.Timeout > o.Timeout {
		h.checker.Timeout = o.Timeout
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 256
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = time.Minute
	}
	if o.Rate <= 0 {
		o.Rate = 0.2
	}
	if o.Burst <= 0 {
		o.Burst = 10
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 4096
	}
	if o.MaxChecks <= 0 {
		o.MaxChecks = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h.checks = make(chan struct{}, o.MaxChecks)
	sum := sha256.Sum256([]byte(pageCSS))
	h.csp = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	return h
}

// A request is the parsed parameters of one request.
type request struct {
	id, ip, r, s string
	format       string // "html", "text" or "json"
	empty        bool   // no id, ip, r or s: show the form
}

// ServeHTTP answers one request; see [Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		h.answer(w, http.StatusMethodNotAllowed, "html", &page{Error: "Only GET and HEAD are allowed."})
		return
	}
	req, err := parseRequest(r.URL.RawQuery, r.Header.Get("Accept"))
	if err != nil {
		h.answer(w, http.StatusBadRequest, req.format, &page{Error: err.Error(), Form: req.form()})
		return
	}
	if req.empty {
		h.answer(w, http.StatusOK, req.format, &page{Form: req.form()})
		return
	}
	q, err := req.query()
	if err != nil {
		h.answer(w, http.StatusBadRequest, req.format, &page{Error: err.Error(), Form: req.form()})
		return
	}
	if !h.allow(h.clientAddr(r)) {
		hd.Set("Retry-After", strconv.Itoa(int(1/h.opts.Rate)+1))
		h.answer(w, http.StatusTooManyRequests, req.format, &page{Error: "Too many requests from your address; try again later.", Form: req.form()})
		return
	}
	e, err := h.explain(r.Context(), q)
	if err != nil {
		hd.Set("Retry-After", "5")
		h.answer(w, http.StatusServiceUnavailable, req.format, &page{Error: "Too many checks are running; try again in a few seconds.", Form: req.form()})
		return
	}
	h.answer(w, http.StatusOK, req.format, &page{Why: e, Form: req.form()})
}

// errBusy reports that MaxChecks checks are running.
var errBusy = errors.New("why: too many checks at once")

// explain returns the cached explanation of q or runs the check.
func (h *Handler) explain(ctx context.Context, q Query) (*Explanation, error) {
	key := cacheKey{ip: q.IP, id: q.Sender, heloOnly: q.HELOOnly}
	if q.HELOOnly {
		key.id = q.HELO
	}
	now := h.opts.Now()
	h.mu.Lock()
	if el, ok := h.cache[key]; ok {
		ce := el.Value.(*cacheEntry)
		if now.Sub(ce.when) < h.opts.CacheTTL {
			h.lru.MoveToFront(el)
			h.mu.Unlock()
			return ce.e, nil
		}
		h.lru.Remove(el)
		delete(h.cache, key)
	}
	h.mu.Unlock()

	select {
	case h.checks <- struct{}{}:
	default:
		return nil, errBusy
	}
	e := h.check(ctx, q)
	if ctx.Err() != nil {
		// The client went away and cut the check short: its temperror
		// says nothing of the domain and must not be served to others.
		return e, nil
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if el, ok := h.cache[key]; ok { // another request filled it meanwhile
		h.lru.Remove(el)
	}
	h.cache[key] = h.lru.PushFront(&cacheEntry{key: key, e: e, when: now})
	for h.lru.Len() > h.opts.CacheSize {
		last := h.lru.Back()
		h.lru.Remove(last)
		delete(h.cache, last.Value.(*cacheEntry).key)
	}
	return e, nil
}

// check runs one check in a slot of h.checks already taken, and gives
// the slot back even if the check panics (net/http recovers the panic of
// a request, and a slot lost with each would soon refuse every check).
func (h *Handler) check(ctx context.Context, q Query) *Explanation {
	defer func() { <-h.checks }()
	ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	e, _ := Explain(ctx, &h.checker, q)
	return e
}

// clientAddr returns the address r is rate-limited by: an IPv6 address's
// /64, since one host usually has a whole one.
func (h *Handler) clientAddr(r *http.Request) netip.Addr {
	var a netip.Addr
	if h.opts.ClientAddr != nil {
		a = h.opts.ClientAddr(r)
	} else if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		a = ap.Addr()
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		a = p.Addr()
	}
	return a
}

// allow takes a token from the bucket of the client at a.
func (h *Handler) allow(a netip.Addr) bool {
	now := h.opts.Now()
	burst := float64(h.opts.Burst)
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.clients[a]
	if b == nil {
		if len(h.clients) >= h.opts.MaxClients {
			// Forget the clients whose buckets have filled up again.
			for k, v := range h.clients {
				if v.tokens+now.Sub(v.last).Seconds()*h.opts.Rate >= burst {
					delete(h.clients, k)
				}
			}
			if len(h.clients) >= h.opts.MaxClients {
				return false
			}
		}
		b = &bucket{tokens: burst, last: now}
		h.clients[a] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*h.opts.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// parseRequest parses the raw query string, with "&" or ";" between the
// parameters, and chooses the format from it or from the Accept header.
// The request it returns has its format set even with an error.
func parseRequest(raw, accept string) (request, error) {
	req := request{format: negotiate(accept)}
	if len(raw) > maxQuery {
		return req, fmt.Errorf("the query is too long (%d bytes, at most %d)", len(raw), maxQuery)
	}
	seen := map[string]bool{}
	var errs []string
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			errs = append(errs, fmt.Sprintf("parameter %q is not URL-encoded correctly", clean(k, 32)))
			continue
		}
		var dst *string
		switch key {
		case "id", "sender":
			key, dst = "id", &req.id
		case "ip":
			dst = &req.ip
		case "r", "receiver":
			key, dst = "r", &req.r
		case "s":
			dst = &req.s
		case "format":
			switch val {
			case "html", "text", "json":
				req.format = val
			default:
				errs = append(errs, fmt.Sprintf("format must be html, text or json, not %q", clean(val, 32)))
			}
			continue
		default:
			continue // unknown parameters are ignored, as openspf did
		}
		if seen[key] {
			errs = append(errs, fmt.Sprintf("parameter %s is given twice", key))
			continue
		}
		seen[key] = true
		*dst = val
	}
	req.empty = len(seen) == 0
	if len(errs) > 0 {
		return req, errors.New(strings.Join(errs, "; "))
	}
	return req, nil
}

// query validates the parameters of a check.
func (req *request) query() (Query, error) {
	var errs []string
	ip, err := netip.ParseAddr(req.ip)
	switch {
	case req.ip == "":
		errs = append(errs, "the parameter ip (the client's IP address) is missing")
	case err != nil || ip.Zone() != "":
		errs = append(errs, fmt.Sprintf("ip: %q is not an IP address", clean(req.ip, 64)))
	}
	switch {
	case req.id == "":
		errs = append(errs, "the parameter id (the sender address, or the HELO name with s=helo) is missing")
	case len(req.id) > maxParam:
		errs = append(errs, fmt.Sprintf("id: longer than %d bytes", maxParam))
	case !printable(req.id):
		errs = append(errs, "id: contains control characters, spaces or non-ASCII bytes")
	}
	if len(req.r) > maxParam || !printable(req.r) {
		errs = append(errs, "r: not a host name")
	}
	helo := false
	switch req.s {
	case "", "mfrom":
	case "helo":
		helo = true
	default:
		errs = append(errs, fmt.Sprintf("s: must be mfrom or helo, not %q", clean(req.s, 32)))
	}
	if len(errs) > 0 {
		return Query{}, errors.New(strings.Join(errs, "; "))
	}
	if helo {
		return Query{IP: ip.Unmap(), HELO: req.id, HELOOnly: true}, nil
	}
	return Query{IP: ip.Unmap(), Sender: req.id}, nil
}

// printable reports whether s is visible US-ASCII only.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// negotiate chooses html, text or json from an Accept header: the type
// with the highest q value, the first of equals; html where none fits.
func negotiate(accept string) string {
	best, bestQ := "html", -1.0
	for _, part := range strings.Split(accept, ",") {
		typ, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		var f string
		switch strings.ToLower(strings.TrimSpace(typ)) {
		case "text/html", "application/xhtml+xml", "*/*", "text/*":
			f = "html"
		case "application/json":
			f = "json"
		case "text/plain":
			f = "text"
		default:
			continue
		}
		if q > bestQ && q > 0 {
			best, bestQ = f, q
		}
	}
	return best
}

// A page is what one answer shows: an explanation, an error or the form.
type page struct {
	Why   *Explanation
	Error string
	Form  form
}

// form is the values the form is filled with.
type form struct {
	IP, ID string
	HELO   bool
}

func (req *request) form() form {
	return form{IP: clean(req.ip, 64), ID: clean(req.id, maxParam), HELO: req.s == "helo"}
}

// answer writes p in the format with the status.
func (h *Handler) answer(w http.ResponseWriter, status int, format string, p *page) {
	hd := w.Header()
	switch format {
	case "json":
		hd.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		enc := json.NewEncoder(w)
		if p.Why != nil {
			enc.Encode(p.Why)
		} else {
			enc.Encode(struct {
				Error string `json:"error"`
			}{errText(p)})
		}
	case "text":
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		if p.Why != nil {
			p.Why.WriteText(w)
		} else {
			fmt.Fprintln(w, clean(errText(p), maxRecord))
		}
	default:
		hd.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		pageTemplate.Execute(w, p)
	}
}

func errText(p *page) string {
	if p.Error != "" {
		return p.Error
	}
	return "Give the parameters ip and id (and s=helo for a HELO name)."
}

// pageCSS is the page's only style, allowed by its hash in the
// Content-Security-Policy.
const pageCSS = `body{font-family:system-ui,sans-serif;line-height:1.5;margin:0 auto;padding:1em;max-width:42em;color:#1a1a1a;background:#fff}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.1em;margin-top:1.4em}
.result{display:inline-block;padding:.1em .6em;border-radius:.3em;font-weight:bold;color:#fff;background:#555}
.pass{background:#2e7d32}.fail{background:#c62828}.softfail{background:#ef6c00}.neutral,.none{background:#546e7a}.temperror,.permerror{background:#6a1b9a}
code,.record{font-family:ui-monospace,monospace;word-break:break-all;background:#f3f3f3;padding:.1em .3em}
.error{border-left:.3em solid #c62828;padding:.3em .8em;background:#fdecea}
label{display:block;margin-top:.6em}input,select{font-size:1em;width:100%;max-width:30em;box-sizing:border-box;padding:.3em}
button{margin-top:.8em;font-size:1em;padding:.3em 1em}footer{margin-top:2em;font-size:.85em;color:#555}`

var pageTemplate = template.Must(template.New("why").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Why}}SPF {{.Why.Result}} for {{.Why.Domain}}{{else}}Why was my mail refused?{{end}}</title>
<style>` + pageCSS + `</style>
</head>
<body>
<main>
{{- with .Why}}
<h1>Why? SPF said <span class="result {{.Result}}">{{.Result}}</span></h1>
<h2>What happened</h2>
<p id="summary">{{.Summary}}</p>
<h2>What the policy of {{.Domain}} says</h2>
<p id="policy">{{.Policy}}</p>
{{- if .Spend}}
<p>DNS lookups by term ({{.Lookups}} of {{.MaxLookups}}):</p>
<ul>{{range .Spend}}<li><code>{{.Term}}</code>: {{.Lookups}}</li>{{end}}</ul>
{{- end}}
<h2>What can be done</h2>
<ul id="advice">{{range .Advice}}<li>{{.}}</li>{{end}}</ul>
{{- else}}
<h1>Why was my mail refused?</h1>
{{- if .Error}}
<p class="error" id="error">{{.Error}}</p>
{{- else}}
<p>A mail server that checks SPF (RFC 7208) refused or marked a message because the sender's domain does not list the server it came from. Give the address of that server and the sender address to see what the domain's policy says and what can be done.</p>
{{- end}}
{{- end}}
<h2>Check {{if .Why}}again{{else}}an address{{end}}</h2>
<form method="get" action="">
<label for="ip">The sending server's IP address</label>
<input id="ip" name="ip" value="{{.Form.IP}}" required inputmode="text" autocomplete="off">
<label for="id">The sender address (or the HELO name)</label>
<input id="id" name="id" value="{{.Form.ID}}" required autocomplete="off">
<label for="s">Which identity</label>
<select id="s" name="s"><option value="mfrom">the sender address (MAIL FROM)</option><option value="helo"{{if .Form.HELO}} selected{{end}}>the HELO name</option></select>
<button type="submit">Explain</button>
</form>
</main>
<footer>Add format=text or format=json to the address for plain text or JSON.</footer>
</body>
</html>
`))
