package main

import (
	"errors"
	"strings"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/spf-go/spf"
)

// TestGoSMTPClientReadsCode: go-smtp's own client reads the enhanced
// status code from the first line of a reply and strips it from the
// others (RFC 2034); from a server whose reply carried it on the last
// line only, it would read [0 0 0] and keep the code in the text.
func TestGoSMTPClientReadsCode(t *testing.T) {
	addr, _ := startServer(t, spf.Policy{})
	c, err := gosmtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mail.example.com"); err != nil {
		t.Fatal(err)
	}
	err = c.Mail("mallory@forged.example", nil)
	var se *gosmtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("MAIL FROM: %v, want an *smtp.SMTPError", err)
	}
	if se.Code != 550 || se.EnhancedCode != (gosmtp.EnhancedCode{5, 7, 23}) {
		t.Errorf("reply %d %v, want 550 [5 7 23]", se.Code, se.EnhancedCode)
	}
	want := "SPF MAIL FROM check failed:\n" +
		"The domain forged.example explains:\n" +
		"127.0.0.1 is not one of forged.example's mail servers"
	if se.Message != want {
		t.Errorf("message\n%s\nwant\n%s", se.Message, want)
	}
	if strings.Contains(se.Message, "5.7.23") {
		t.Errorf("the client left a status code in the text: %q", se.Message)
	}
}
