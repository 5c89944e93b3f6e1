package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
)

// Device cookies, after OWASP's "Slow down online guessing attacks with
// device cookies": a browser that completed a sign-in as a user carries a
// token that names the user and a random nonce, signed with the server's
// key. Its failed passwords are counted against that token alone, so an
// attacker elsewhere, who cannot make one, cannot block it; a stolen one
// that guesses is blocked by itself.

// DeviceKeyLength is the length of the key device cookies are signed with.
const DeviceKeyLength = 32

// deviceNonceBytes makes each device token unguessable and its own.
const deviceNonceBytes = 16

// DeviceKey signs and checks device tokens.
type DeviceKey struct{ key []byte }

// NewDeviceKey derives the signing key from a secret of at least
// DeviceKeyLength bytes; the derivation keeps this use of the secret apart
// from any other it may be put to.
func NewDeviceKey(secret []byte) DeviceKey {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("clc device cookie v1"))
	return DeviceKey{key: m.Sum(nil)}
}

// RandomDeviceKey is a key of this process only, for when none is given:
// tokens it signed are worthless to another process or after a restart.
func RandomDeviceKey() DeviceKey {
	b := make([]byte, DeviceKeyLength)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return NewDeviceKey(b)
}

// Device is a checked device token: the user it was issued to and its nonce.
type Device struct {
	UserID int64
	Nonce  string
}

// Issue makes a new device token for user id: "<id>.<nonce>.<signature>".
func (k DeviceKey) Issue(userID int64) string {
	payload := strconv.FormatInt(userID, 10) + "." + randomToken(deviceNonceBytes)
	return payload + "." + k.sign(payload)
}

// Check returns the device a token names, or false when it is malformed or
// its signature is not this key's.
func (k DeviceKey) Check(token string) (Device, bool) {
	if len(k.key) == 0 || len(token) > 200 {
		return Device{}, false
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return Device{}, false
	}
	payload, sig := token[:i], token[i+1:]
	if !hmac.Equal([]byte(sig), []byte(k.sign(payload))) {
		return Device{}, false
	}
	idText, nonce, ok := strings.Cut(payload, ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 || nonce == "" {
		return Device{}, false
	}
	return Device{UserID: id, Nonce: nonce}, true
}

func (k DeviceKey) sign(payload string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
