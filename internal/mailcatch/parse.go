package mailcatch

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// maxDepth stops a hostile message from recursing without end.
const maxDepth = 8

// parse fills in what a reader wants to see from raw. It never fails: a
// message the portal got wrong is exactly what a developer needs to read,
// so whatever could not be decoded is simply left empty.
func parse(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m
	}
	m.Header = msg.Header
	m.Subject = decodeHeader(msg.Header.Get("Subject"))
	walk(&m, msg.Header, msg.Body, 0)
	return m
}

func decodeHeader(v string) string {
	d, err := (&mime.WordDecoder{CharsetReader: charsetReader}).DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// partHeader is the part of a MIME header walk needs; both mail.Header and
// multipart's textproto.MIMEHeader provide it.
type partHeader interface{ Get(key string) string }

// walk keeps the first text/plain and the first text/html body found in
// depth-first order, which for multipart/alternative and multipart/mixed
// is the message's own text rather than an attached or forwarded one.
func walk(m *Message, h partHeader, body io.Reader, depth int) {
	if depth > maxDepth {
		return
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii" // RFC 2045 section 5.2
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart: decode the transfer encoding here, the same way
			// for every part.
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walk(m, p.Header, p, depth+1)
		}
	}
	if disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" {
		return
	}
	var dst *string
	switch mediaType {
	case "text/plain":
		dst = &m.Text
	case "text/html":
		dst = &m.HTML
	default:
		return
	}
	if *dst != "" {
		return
	}
	text, err := decodeBody(body, h.Get("Content-Transfer-Encoding"), params["charset"])
	if err != nil {
		return
	}
	*dst = text
}

func decodeBody(body io.Reader, transferEncoding, charset string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(transferEncoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	r, err := charsetReader(charset, body)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}

// charsetReader converts from charset to UTF-8; unknown or missing
// charsets pass through unchanged, as UTF-8 is what the portal sends.
func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return r, nil
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, fmt.Errorf("charset %q: %w", charset, err)
	}
	return enc.NewDecoder().Reader(r), nil
}

var linkRE = regexp.MustCompile(`(?i)https?://[^\s<>"'` + "`" + `]+`)

// Links returns every distinct http(s) link in the text and HTML parts, in
// order of first appearance, so a person or a test can follow them.
func (m Message) Links() []string {
	var links []string
	seen := map[string]bool{}
	for _, s := range []string{m.Text, html.UnescapeString(m.HTML)} {
		for _, l := range linkRE.FindAllString(s, -1) {
			l = trimLink(l)
			if !seen[l] {
				seen[l] = true
				links = append(links, l)
			}
		}
	}
	return links
}

// trimLink drops sentence punctuation that follows a link in prose, and a
// closing bracket that encloses the link rather than belonging to it.
func trimLink(l string) string {
	for {
		trimmed := strings.TrimRight(l, ".,;:!?")
		for _, pair := range []string{"()", "[]", "{}"} {
			if strings.HasSuffix(trimmed, pair[1:]) &&
				strings.Count(trimmed, pair[:1]) < strings.Count(trimmed, pair[1:]) {
				trimmed = trimmed[:len(trimmed)-1]
			}
		}
		if trimmed == l {
			return l
		}
		l = trimmed
	}
}
