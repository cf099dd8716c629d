package why

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf-go/spf"
)

// chromium returns the path of Debian's chromium, skipping the test where
// it is absent, or failing it in CI (CI=true), where .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is not installed, and CI=true: the real-browser test must run in CI (apt-get install chromium)")
		}
		t.Skip("chromium is not installed: skipping the real-browser test (apt-get install chromium to run it)")
	}
	return path
}

// runChromium runs headless chromium with args and returns its standard
// output.
func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// TestBrowser loads the page in headless chromium from the handler on the
// loopback interface, for a fail, a none and hostile DNS data, and checks
// the text of the DOM chromium rendered. With -update it keeps a
// screenshot of the fail as testdata/why-fail.png.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	h := NewHandler(&spf.Checker{Resolver: testZone(t), Receiver: "mx.example.net"}, &Options{Burst: 100})
	srv := httptest.NewServer(h)
	defer srv.Close()

	tests := []struct {
		name  string
		query string
		want  []string // in the rendered text
		shot  string   // screenshot file under testdata, with -update
	}{
		{"fail", "?id=alice%40example.com&ip=198.51.100.7&r=mx.example.net", []string{
			"Why? SPF said fail",
			"The mail server mx.example.net received a message from the client at 198.51.100.7",
			`No term of it matched 198.51.100.7, so the final "-all" applied`,
			"198.51.100.7 is not one of example.com's mail servers.",
			`"ip4:198.51.100.7"`,
		}, "why-fail.png"},
		{"none", "?id=bob%40norecord.example.org;ip=192.0.2.1;r=mx.example.net", []string{
			"Why? SPF said none",
			"The domain norecord.example.org has not published an SPF policy",
		}, ""},
		{"hostile", "?id=x%40hostile.example.org&ip=198.51.100.7", []string{
			"<script>alert(1)</script>",
			`<img src=x onerror="alert(1)">.example.org`,
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := srv.URL + "/Why" + tt.query
			dom := runChromium(t, bin, "--dump-dom", url)
			for _, bad := range []string{"<script", "<img", "<b>"} {
				if strings.Contains(dom, bad) {
					t.Errorf("the DOM holds an element %q:\n%s", bad, dom)
				}
			}
			text := strings.Join(strings.Fields(unescapeHTML(tagRE.ReplaceAllString(dom, " "))), " ")
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("the rendered text does not contain %q:\n%s", w, text)
				}
			}
			if tt.shot == "" {
				return
			}
			png := filepath.Join(t.TempDir(), tt.shot)
			runChromium(t, bin, "--hide-scrollbars", "--window-size=412,900", "--screenshot="+png, url)
			b, err := os.ReadFile(png)
			if err != nil || len(b) < 1000 || string(b[1:4]) != "PNG" {
				t.Fatalf("no screenshot (%v, %d bytes)", err, len(b))
			}
			t.Logf("screenshot: %s (%d bytes)", png, len(b))
			if *update {
				if err := os.WriteFile(filepath.Join("testdata", tt.shot), b, 0o666); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// unescapeHTML undoes the escapes chromium writes in text.
func unescapeHTML(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&amp;", "&", "&nbsp;", " ").Replace(s)
}
