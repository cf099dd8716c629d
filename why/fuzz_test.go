package why

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf-go/spf"
	"golang.org/x/net/html"
)

// allowedTags are the elements of the page's template; nothing from a
// request or DNS may add another.
var allowedTags = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true,
	"main": true, "h1": true, "h2": true, "p": true, "span": true, "ul": true, "li": true,
	"code": true, "form": true, "label": true, "input": true, "select": true, "option": true,
	"button": true, "footer": true,
}

// FuzzHandlerQuery feeds raw query strings to the handler and reads the
// HTML back with a strict tokenizer: only the template's elements, no
// event-handler attribute; and the JSON form must parse.
func FuzzHandlerQuery(f *testing.F) {
	for _, s := range []string{
		"id=alice%40example.com&ip=198.51.100.7",
		"id=x%40hostile.example.org;ip=198.51.100.7",
		"id=%3Cscript%3E%40hostile.example.org&ip=198.51.100.7",
		"id=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&ip=1",
		"s=helo&id=mail.example.com&ip=192.0.2.10",
		"ip=%0D%0A&id=%00",
		"format=json&id=a@toomany.example.org&ip=192.0.2.1",
		"format=text&id=x%40hostile.example.org&ip=198.51.100.7",
		"format=text&id=%1B%5B2J&ip=%C2%9B",
	} {
		f.Add(s)
	}
	h := NewHandler(&spf.Checker{Resolver: testZone(f)}, &Options{Burst: 1 << 30, Rate: 1e9})
	f.Fuzz(func(t *testing.T, raw string) {
		for _, format := range []string{"html", "json"} {
			req := httptest.NewRequest(http.MethodGet, "/Why", nil)
			req.URL.RawQuery = raw
			req.Header.Set("Accept", map[string]string{"html": "text/html", "json": "application/json"}[format])
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.String()
			ct := rec.Header().Get("Content-Type")
			switch {
			case strings.HasPrefix(ct, "text/html"):
				z := html.NewTokenizer(strings.NewReader(body))
				for {
					tt := z.Next()
					if tt == html.ErrorToken {
						break
					}
					if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
						continue
					}
					name, hasAttr := z.TagName()
					if !allowedTags[string(name)] {
						t.Fatalf("element <%s> in the page for %q", name, raw)
					}
					for hasAttr {
						var k []byte
						k, _, hasAttr = z.TagAttr()
						if strings.HasPrefix(string(k), "on") || string(k) == "src" || string(k) == "href" {
							t.Fatalf("attribute %s in the page for %q", k, raw)
						}
					}
				}
			case ct == "application/json":
				if !json.Valid([]byte(body)) {
					t.Fatalf("invalid JSON for %q: %s", raw, body)
				}
			case strings.HasPrefix(ct, "text/plain"):
				for i := 0; i < len(body); i++ {
					if c := body[i]; (c < 0x20 && c != '\n') || c >= 0x7f {
						t.Fatalf("byte %#x in the text for %q", c, raw)
					}
				}
			default:
				t.Fatalf("Content-Type %q", ct)
			}
		}
	})
}
