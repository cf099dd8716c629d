package main

// The Postfix SMTP access policy delegation protocol
// (https://www.postfix.org/SMTPD_POLICY_README.html): a request is
// name=value lines ended by an empty line, and the reply is one
// "action=..." line followed by an empty line.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// The bounds of one request. Postfix's own attributes are short (a
// recipient of at most 2,048 bytes with line_length_limit), so a longer
// line or a longer request is not Postfix talking.
const (
	maxLineBytes    = 4096
	maxAttributes   = 100
	maxRequestBytes = 128 << 10
	// maxActionBytes bounds the text of a reply's action, which Postfix
	// puts in an SMTP reply line (at most 512 bytes with its CRLF, RFC
	// 5321 section 4.5.3.1.5) or prepends as a header field line (at
	// most 998 bytes, RFC 5322 section 2.1.1).
	maxActionBytes = 990
)

// Errors of readRequest. errMalformed requests were read to their end
// and deserve action=DUNNO; after errTooLarge the stream is out of step
// and the connection must be closed.
var (
	errMalformed = errors.New("malformed policy request")
	errTooLarge  = errors.New("policy request too large")
)

// A request is the attributes of one policy request, by name. Only the
// first of repeated names counts.
type request map[string]string

// readRequest reads one request from r. It returns io.EOF at a clean
// end of the stream (no byte of a new request read), an error wrapping
// errMalformed for a request that was read to its empty line but breaks
// the protocol (a line without "=", an overlong line, too many
// attributes, bytes that are not UTF-8), with the attributes read so
// far, and errTooLarge or a read error when the stream cannot go on.
func readRequest(r *bufio.Reader) (request, error) {
	req := make(request)
	var problem error
	total, lines := 0, 0
	for {
		line, n, err := readLine(r)
		total += n
		if err != nil {
			if errors.Is(err, io.EOF) && total == 0 {
				return nil, io.EOF
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return req, err
		}
		if total > maxRequestBytes {
			return req, errTooLarge
		}
		if line == nil {
			// An overlong line counts as a line of the request, so that a
			// request of overlong lines alone still gets its reply.
			lines++
			if problem == nil {
				problem = errors.New("line longer than 4096 bytes")
			}
			continue
		}
		if len(line) == 0 {
			if lines == 0 {
				// Empty lines between requests are tolerated.
				total = 0
				continue
			}
			if problem != nil {
				return req, errors.Join(errMalformed, problem)
			}
			return req, nil
		}
		lines++
		if lines > maxAttributes {
			if problem == nil {
				problem = errors.New("more than 100 attributes")
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{'='})
		switch {
		case !utf8.Valid(line):
			if problem == nil {
				problem = errors.New("bytes that are not UTF-8")
			}
		case !ok || len(name) == 0:
			if problem == nil {
				problem = errors.New("a line without name=value")
			}
		default:
			if _, dup := req[string(name)]; !dup {
				req[string(name)] = string(value)
			}
		}
	}
}

// readLine reads one line without its "\n" (and "\r" before it). A line
// longer than maxLineBytes is consumed and returned as nil, with n its
// length; n counts the bytes read.
func readLine(r *bufio.Reader) (line []byte, n int, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		n += len(chunk)
		if n <= maxLineBytes+2 {
			buf = append(buf, chunk...)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if n > maxRequestBytes {
				return nil, n, nil
			}
			continue
		}
		return nil, n, err
	}
	if n > maxLineBytes+1 {
		return nil, n, nil
	}
	buf = bytes.TrimSuffix(buf, []byte{'\n'})
	buf = bytes.TrimSuffix(buf, []byte{'\r'})
	if len(buf) > maxLineBytes {
		return nil, n, nil
	}
	return buf, n, nil
}

// writeReply writes the reply "action=ACTION" and the empty line. The
// action is made one line of printable ASCII (every other byte becomes
// "?") of at most maxActionBytes, whatever it holds.
func writeReply(w io.Writer, action string) error {
	_, err := io.WriteString(w, "action="+cleanAction(action)+"\n\n")
	return err
}

// cleanAction returns s with every byte that is not printable ASCII or a
// space replaced by "?", cut to maxActionBytes.
func cleanAction(s string) string {
	if len(s) > maxActionBytes {
		s = s[:maxActionBytes]
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= ' ' && c <= '~' {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}
