package spf

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SlogTrace returns a trace function, for [Checker.Trace] or [WithTrace],
// that logs each step of an evaluation to logger at level: one record per
// [Event], with the message "spf " and the event's kind ("spf query",
// "spf term", ...), and the event's fields as attributes:
//
//	depth, lookups, void_lookups   every event
//	name, type, answer, elapsed    query (answer: the TXT strings,
//	                               addresses and names, as a list)
//	domain, record                 record
//	domain, term, matched          term
//	domain, term                   limit
//	domain, result, term           result
//	error                          where the step failed
//
// Every string from DNS or the SMTP client is an attribute value, never
// part of the message, so that the handler escapes it: [slog.TextHandler]
// quotes a value with control characters, spaces or invalid UTF-8, and
// [slog.JSONHandler] writes JSON strings, with \u escapes for ASCII
// control characters. Because JSON allows the other invisible characters
// raw (C1 controls such as U+0085 or U+009B, bidirectional overrides such
// as U+202E) and a terminal acts on them, SlogTrace writes those, and the
// bytes of invalid UTF-8, as \uXXXX and \xXX escapes before the handler
// sees them. Each such value is cut to 1,024 bytes, with the length of
// the whole noted, so that a hostile record of 64 KB cannot make one check
// write megabytes of log. A handler of another kind must escape ASCII
// control characters itself. Nothing is built when logger is not enabled at
// level, and a nil logger logs nothing.
func SlogTrace(logger *slog.Logger, level slog.Level) func(Event) {
	return func(ev Event) {
		ctx := context.Background()
		if logger == nil || !logger.Enabled(ctx, level) {
			return
		}
		attrs := make([]slog.Attr, 0, 8)
		attrs = append(attrs, slog.Int("depth", ev.Depth))
		switch ev.Kind {
		case EventQuery:
			attrs = append(attrs, slog.String("name", logSafe(ev.Name)), slog.String("type", ev.Type.String()))
			if r := ev.Response; r != nil {
				answer := make([]string, 0, r.Len())
				for _, t := range r.TXT {
					answer = append(answer, logSafe(t))
				}
				for _, a := range r.Addrs {
					answer = append(answer, a.String())
				}
				for _, n := range r.Names {
					answer = append(answer, logSafe(n))
				}
				attrs = append(attrs, slog.Any("answer", answer))
			}
			attrs = append(attrs, slog.Duration("elapsed", ev.Elapsed))
		case EventRecord:
			attrs = append(attrs, slog.String("domain", logSafe(ev.Domain)), slog.String("record", logSafe(ev.Record)))
		case EventTerm:
			attrs = append(attrs, slog.String("domain", logSafe(ev.Domain)), slog.String("term", logSafe(ev.Term)), slog.Bool("matched", ev.Matched))
		case EventLimit:
			attrs = append(attrs, slog.String("domain", logSafe(ev.Domain)), slog.String("term", logSafe(ev.Term)))
		case EventResult:
			attrs = append(attrs, slog.String("domain", logSafe(ev.Domain)), slog.String("result", ev.Result.String()))
			if ev.Term != "" {
				attrs = append(attrs, slog.String("term", logSafe(ev.Term)))
			}
		}
		if ev.Err != nil {
			attrs = append(attrs, slog.String("error", logSafe(ev.Err.Error())))
		}
		attrs = append(attrs, slog.Int("lookups", ev.Lookups), slog.Int("void_lookups", ev.VoidLookups))
		logger.LogAttrs(ctx, level, "spf "+ev.Kind.String(), attrs...)
	}
}

// maxLogValue is how much of one string from DNS or the client a
// SlogTrace record holds.
const maxLogValue = 1024

// logSafe cuts s to maxLogValue bytes and escapes what log/slog's handlers
// may write raw but a terminal acts on: non-ASCII characters that are not
// printable (C1 controls, format characters such as bidirectional
// overrides, unassigned code points) as \uXXXX or \UXXXXXXXX, and the bytes
// of invalid UTF-8 as \xXX. ASCII is left to the handler. s is returned as
// it is, without allocating, when it holds none of them.
func logSafe(s string) string {
	if len(s) > maxLogValue {
		cut := maxLogValue
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "...(" + strconv.Itoa(len(s)) + " bytes)"
	}
	i := strings.IndexFunc(s, mustEscape)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case mustEscape(r) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case mustEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// mustEscape reports whether logSafe escapes r; utf8.RuneError stands for
// invalid UTF-8 too.
func mustEscape(r rune) bool {
	return r >= utf8.RuneSelf && (r == utf8.RuneError || !unicode.IsPrint(r))
}
