package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadRequest(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes)
	tests := []struct {
		name    string
		in      string
		want    []request
		wantErr []error // nil for a request without error
	}{
		{
			name: "two requests",
			in:   "request=smtpd_access_policy\nsender=a@example.com\n\nrequest=smtpd_access_policy\nsender=\n\n",
			want: []request{
				{"request": "smtpd_access_policy", "sender": "a@example.com"},
				{"request": "smtpd_access_policy", "sender": ""},
			},
			wantErr: []error{nil, nil},
		},
		{
			name:    "CRLF and a value with =",
			in:      "a=b=c\r\n\r\n",
			want:    []request{{"a": "b=c"}},
			wantErr: []error{nil},
		},
		{
			name:    "first of repeated names",
			in:      "a=1\na=2\n\n",
			want:    []request{{"a": "1"}},
			wantErr: []error{nil},
		},
		{
			name:    "leading empty lines",
			in:      "\n\na=1\n\n",
			want:    []request{{"a": "1"}},
			wantErr: []error{nil},
		},
		{
			name:    "line without =, then the next request is fine",
			in:      "garbage\nb=2\n\nc=3\n\n",
			want:    []request{{"b": "2"}, {"c": "3"}},
			wantErr: []error{errMalformed, nil},
		},
		{
			name:    "empty name",
			in:      "=x\n\n",
			want:    []request{{}},
			wantErr: []error{errMalformed},
		},
		{
			name:    "line of the maximum length",
			in:      "a=" + long[2:] + "\n\n",
			want:    []request{{"a": long[2:]}},
			wantErr: []error{nil},
		},
		{
			name:    "overlong line",
			in:      "a=" + long + "\nb=2\n\nc=3\n\n",
			want:    []request{{"b": "2"}, {"c": "3"}},
			wantErr: []error{errMalformed, nil},
		},
		{
			name:    "overlong line alone",
			in:      "a=" + long + "\n\nc=3\n\n",
			want:    []request{{}, {"c": "3"}},
			wantErr: []error{errMalformed, nil},
		},
		{
			name:    "not UTF-8",
			in:      "a=\xff\xfe\nb=2\n\n",
			want:    []request{{"b": "2"}},
			wantErr: []error{errMalformed},
		},
		{
			name:    "too many attributes",
			in:      strings.Repeat("a=1\n", maxAttributes+1) + "\n",
			want:    []request{{"a": "1"}},
			wantErr: []error{errMalformed},
		},
		{
			name:    "cut short",
			in:      "a=1\nb=2",
			want:    []request{{"a": "1"}},
			wantErr: []error{io.ErrUnexpectedEOF},
		},
		{
			name:    "endless line",
			in:      strings.Repeat("y", maxRequestBytes+5000),
			want:    []request{{}},
			wantErr: []error{errTooLarge},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.in), 4096)
			var got []request
			for i := range tt.want {
				req, err := readRequest(r)
				if (tt.wantErr[i] == nil) != (err == nil) || (err != nil && !errors.Is(err, tt.wantErr[i])) {
					t.Fatalf("request %d: error %v, want %v", i, err, tt.wantErr[i])
				}
				got = append(got, req)
				if err != nil && !errors.Is(err, errMalformed) {
					break
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if tt.wantErr[len(tt.wantErr)-1] == nil {
				if _, err := readRequest(r); err != io.EOF {
					t.Errorf("at the end: %v, want io.EOF", err)
				}
			}
		})
	}
}

func TestWriteReply(t *testing.T) {
	tests := []struct {
		name, action, want string
	}{
		{"dunno", "DUNNO", "action=DUNNO\n\n"},
		{"newline injection", "PREPEND X: a\n\naction=OK", "action=PREPEND X: a??action=OK\n\n"},
		{"8-bit and controls", "550 5.7.23 \xc3\xa9\t\x00", "action=550 5.7.23 ????\n\n"},
		{"capped", strings.Repeat("z", 2000), "action=" + strings.Repeat("z", maxActionBytes) + "\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeReply(&b, tt.action); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzReadRequest feeds arbitrary streams to the codec: it must never
// panic, keep every attribute within the bounds, and write one clean
// reply line per request.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("request=smtpd_access_policy\nclient_address=192.0.2.1\nsender=a@example.com\n\n"))
	f.Add([]byte("a=\xff\n\n=\n\nno equals\n\n"))
	f.Add([]byte("\r\n\r\nx=y\r\n\r\n"))
	f.Add(bytes.Repeat([]byte("a=1\n"), 120))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(in), 4096)
		for n := 0; ; n++ {
			if n > len(in) {
				t.Fatalf("more requests than bytes")
			}
			req, err := readRequest(r)
			if len(req) > maxAttributes {
				t.Fatalf("%d attributes", len(req))
			}
			for k, v := range req {
				if len(k)+len(v)+1 > maxLineBytes || strings.ContainsAny(k+v, "\n") {
					t.Fatalf("attribute %q out of bounds", k)
				}
			}
			if err != nil && !errors.Is(err, errMalformed) {
				break
			}
			var b bytes.Buffer
			writeReply(&b, req["sender"])
			out := b.String()
			if !strings.HasPrefix(out, "action=") || strings.Count(out, "\n") != 2 || !strings.HasSuffix(out, "\n\n") {
				t.Fatalf("reply %q is not one line", out)
			}
		}
	})
}
