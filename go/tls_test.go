package rpyc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// testCA is a certificate authority made for one test run.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate for the given DNS names and IP addresses; it returns
// the certificate and its key as PEM.
func (ca *testCA) issue(t *testing.T, usage x509.ExtKeyUsage, dns []string, ips ...net.IP) (certPEM, keyPEM []byte) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "rpyc-bridge test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startTLSServer runs tests/fixtures/tls_server.py with the given certificate; with
// clientCA, it requires client certificates signed by it.
func startTLSServer(t *testing.T, certPEM, keyPEM, clientCA []byte) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{writeFile(t, dir, "server.pem", certPEM), writeFile(t, dir, "server.key", keyPEM)}
	if clientCA != nil {
		args = append(args, writeFile(t, dir, "client-ca.pem", clientCA))
	}
	stop, addr, err := startServer("tls_server.py", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

var loopback = net.ParseIP("127.0.0.1")

// sqrtOver checks that a call works on conn, and closes it.
func sqrtOver(t *testing.T, conn *rpyc.Conn) {
	t.Helper()
	defer conn.Close()
	v, err := conn.Call(context.Background(), "math", "sqrt", 16)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v.Interface(); got != 4.0 {
		t.Fatalf("math.sqrt(16) over TLS = %v", got)
	}
}

func wantDialError(t *testing.T, err error, sentinel error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Dial succeeded, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("Dial: %v, want %v", err, sentinel)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Dial error %q does not say %q", err, w)
		}
	}
}

func TestTLS(t *testing.T) {
	ca := newTestCA(t, "rpyc-bridge test CA")
	cert, key := ca.issue(t, x509.ExtKeyUsageServerAuth, []string{"localhost"}, loopback)
	addr := startTLSServer(t, cert, key, nil)
	ctx := context.Background()

	t.Run("GoodCertificateCAFromPEM", func(t *testing.T) {
		conn, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: ca.pem}))
		if err != nil {
			t.Fatal(err)
		}
		sqrtOver(t, conn)
	})
	t.Run("GoodCertificateCAFromFile", func(t *testing.T) {
		file := writeFile(t, t.TempDir(), "ca.pem", ca.pem)
		conn, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CAFile: file}))
		if err != nil {
			t.Fatal(err)
		}
		sqrtOver(t, conn)
	})
	t.Run("HostNameFromServerName", func(t *testing.T) {
		conn, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: ca.pem, ServerName: "localhost"}))
		if err != nil {
			t.Fatal(err)
		}
		sqrtOver(t, conn)
	})
	t.Run("UntrustedCA", func(t *testing.T) {
		other := newTestCA(t, "some other CA")
		_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: other.pem}))
		wantDialError(t, err, rpyc.ErrConnect, "certificate", "unable to get local issuer certificate")
	})
	t.Run("NoCAGivenAndNoneInTheSystem", func(t *testing.T) {
		// The system's bundle does not know this test CA, whatever the machine has.
		_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{}))
		wantDialError(t, err, rpyc.ErrConnect, "certificate")
	})
	t.Run("PlainClientAgainstTLSServer", func(t *testing.T) {
		_, err := rpyc.Dial(ctx, addr, rpyc.WithConnectTimeout(2*time.Second))
		wantDialError(t, err, rpyc.ErrConnect)
	})
	t.Run("BadCAPEM", func(t *testing.T) {
		_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: []byte("not a certificate")}))
		wantDialError(t, err, rpyc.ErrArgument, "CA")
	})
	t.Run("MissingCAFile", func(t *testing.T) {
		_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CAFile: "/nonexistent/ca.pem"}))
		wantDialError(t, err, rpyc.ErrArgument, "/nonexistent/ca.pem")
	})
}

func TestTLSWrongHost(t *testing.T) {
	ca := newTestCA(t, "rpyc-bridge test CA")
	cert, key := ca.issue(t, x509.ExtKeyUsageServerAuth, []string{"other.example"})
	addr := startTLSServer(t, cert, key, nil)
	ctx := context.Background()

	_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: ca.pem}))
	wantDialError(t, err, rpyc.ErrConnect, "IP address mismatch")
	_, port, _ := net.SplitHostPort(addr)
	_, err = rpyc.Dial(ctx, net.JoinHostPort("localhost", port), rpyc.WithTLS(rpyc.TLSConfig{CA: ca.pem}))
	wantDialError(t, err, rpyc.ErrConnect, "Hostname mismatch")
	// The name the certificate does carry.
	conn, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: ca.pem, ServerName: "other.example"}))
	if err != nil {
		t.Fatal(err)
	}
	sqrtOver(t, conn)
}

func TestMutualTLS(t *testing.T) {
	serverCA := newTestCA(t, "server CA")
	clientCA := newTestCA(t, "client CA")
	cert, key := serverCA.issue(t, x509.ExtKeyUsageServerAuth, nil, loopback)
	addr := startTLSServer(t, cert, key, clientCA.pem)
	clientCert, clientKey := clientCA.issue(t, x509.ExtKeyUsageClientAuth, []string{"client"})
	ctx := context.Background()

	t.Run("NoClientCertificate", func(t *testing.T) {
		_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: serverCA.pem}))
		wantDialError(t, err, rpyc.ErrConnect, "certificate")
	})
	t.Run("ClientCertificateFromPEM", func(t *testing.T) {
		conn, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: serverCA.pem, Cert: clientCert, Key: clientKey}))
		if err != nil {
			t.Fatal(err)
		}
		sqrtOver(t, conn)
	})
	t.Run("CertificateAndKeyInOnePEM", func(t *testing.T) {
		both := append(append([]byte{}, clientCert...), clientKey...)
		conn, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: serverCA.pem, Cert: both}))
		if err != nil {
			t.Fatal(err)
		}
		sqrtOver(t, conn)
	})
	t.Run("ClientCertificateFromFiles", func(t *testing.T) {
		dir := t.TempDir()
		conn, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{
			CAFile:   writeFile(t, dir, "ca.pem", serverCA.pem),
			CertFile: writeFile(t, dir, "client.pem", clientCert),
			KeyFile:  writeFile(t, dir, "client.key", clientKey),
		}))
		if err != nil {
			t.Fatal(err)
		}
		sqrtOver(t, conn)
	})
	t.Run("CertificateFromAnotherCA", func(t *testing.T) {
		stranger, strangerKey := serverCA.issue(t, x509.ExtKeyUsageClientAuth, []string{"client"})
		_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: serverCA.pem, Cert: stranger, Key: strangerKey}))
		wantDialError(t, err, rpyc.ErrConnect)
	})
	t.Run("KeyOfAnotherCertificate", func(t *testing.T) {
		_, otherKey := clientCA.issue(t, x509.ExtKeyUsageClientAuth, []string{"client"})
		_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: serverCA.pem, Cert: clientCert, Key: otherKey}))
		wantDialError(t, err, rpyc.ErrArgument, "does not match")
	})
	t.Run("KeyWithoutCertificate", func(t *testing.T) {
		_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: serverCA.pem, Key: clientKey}))
		wantDialError(t, err, rpyc.ErrArgument, "needs its certificate")
	})
	t.Run("GarbageCertificate", func(t *testing.T) {
		_, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: serverCA.pem, Cert: []byte("garbage"), Key: clientKey}))
		wantDialError(t, err, rpyc.ErrArgument, "no certificate")
	})
	t.Run("EncryptedKey", func(t *testing.T) {
		block, _ := pem.Decode(clientKey)
		//nolint:staticcheck // legacy PEM encryption is what OpenSSL-era key files use
		encrypted, err := x509.EncryptPEMBlock(rand.Reader, "PRIVATE KEY", block.Bytes, []byte("s3cret"), x509.PEMCipherAES256)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM := pem.EncodeToMemory(encrypted)
		cfg := rpyc.TLSConfig{CA: serverCA.pem, Cert: clientCert, Key: keyPEM}
		_, err = rpyc.Dial(ctx, addr, rpyc.WithTLS(cfg))
		wantDialError(t, err, rpyc.ErrArgument, "password")
		cfg.KeyPassword = "wrong"
		_, err = rpyc.Dial(ctx, addr, rpyc.WithTLS(cfg))
		wantDialError(t, err, rpyc.ErrArgument, "password")
		cfg.KeyPassword = "s3cret"
		conn, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(cfg))
		if err != nil {
			t.Fatal(err)
		}
		sqrtOver(t, conn)
	})
}

// rpyc's own ssl_connect, run by the embedded Python of this very binary: _ssl is built in.
func TestRPyCSSLConnectInEmbeddedPython(t *testing.T) {
	ca := newTestCA(t, "rpyc-bridge test CA")
	cert, key := ca.issue(t, x509.ExtKeyUsageServerAuth, []string{"localhost"}, loopback)
	addr := startTLSServer(t, cert, key, nil)
	_, port, _ := net.SplitHostPort(addr)
	caFile := writeFile(t, t.TempDir(), "ca.pem", ca.pem)
	out := runEmbeddedPython(t, "-c", `import sys, ssl, rpyc
c = rpyc.classic.ssl_connect("127.0.0.1", int(sys.argv[1]), ca_certs=sys.argv[2], cert_reqs=ssl.CERT_REQUIRED)
print(ssl.OPENSSL_VERSION, c.modules.math.sqrt(16))`, port, caFile)
	if !strings.Contains(out, "OpenSSL 3.") || !strings.HasSuffix(strings.TrimSpace(out), " 4.0") {
		t.Fatalf("rpyc.classic.ssl_connect printed %q", out)
	}
}
