package rpyc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	rpyc "github.com/rpyc-bridge/rpyc-bridge/go"
)

// The examples run in go test against the test's classic RPyC server (serverAddr, see
// main_test.go); in a program of your own that is an address such as "127.0.0.1:18812",
// where rpyc_classic listens.

// Dial a classic server, call functions of its modules, and decode the results.
func ExampleDial() {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, serverAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	v, err := conn.Call(ctx, "math", "sqrt", 16) // math.sqrt(16)
	if err != nil {
		log.Fatal(err)
	}
	var root float64
	if err := v.Decode(&root); err != nil {
		log.Fatal(err)
	}
	fmt.Println("math.sqrt(16) =", root)

	v, err = conn.CallKw(ctx, "numpy", "linspace", []any{0, 1}, map[string]any{"num": 5})
	if err != nil {
		log.Fatal(err)
	}
	var points []float64
	if err := v.Decode(&points); err != nil {
		log.Fatal(err)
	}
	fmt.Println("numpy.linspace(0, 1, num=5) =", points)

	v, err = conn.GetAttr(ctx, "math", "pi")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("math.pi =", v)
	// Output:
	// math.sqrt(16) = 4
	// numpy.linspace(0, 1, num=5) = [0 0.25 0.5 0.75 1]
	// math.pi = 3.141592653589793
}

// A scikit-learn model lives on the server; Refs create it, fit it and predict with it.
func ExampleRef() {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, serverAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	lm, err := conn.Import(ctx, "sklearn.linear_model")
	if err != nil {
		log.Fatal(err)
	}
	cls, err := lm.Attr(ctx, "LinearRegression")
	if err != nil {
		log.Fatal(err)
	}
	model, err := cls.Call(ctx) // LinearRegression(): the object stays remote
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()

	// y = 3 x0 - 2 x1 + 1, five samples of two features.
	X, _ := rpyc.NewArray([]float64{0, 0, 1, 0, 0, 1, 1, 1, 2, 3}, 5, 2)
	y, _ := rpyc.NewArray([]float64{1, 4, -1, 2, 1})
	fit, err := model.Attr(ctx, "fit")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := fit.Call(ctx, X, y); err != nil {
		log.Fatal(err)
	}
	predict, err := model.Attr(ctx, "predict")
	if err != nil {
		log.Fatal(err)
	}
	test, _ := rpyc.NewArray([]float64{10, 10, -1, 2}, 2, 2)
	pred, err := predict.Call(ctx, test)
	if err != nil {
		log.Fatal(err)
	}
	var ys []float64
	if err := pred.Decode(ctx, &ys); err != nil { // by value
		log.Fatal(err)
	}
	fmt.Printf("predict([[10 10] [-1 2]]) = [%.3f %.3f]\n", ys[0], ys[1])
	// Output:
	// predict([[10 10] [-1 2]]) = [11.000 -6.000]
}

// An Array travels as one byte buffer and is a numpy.ndarray on the server; an ndarray
// result comes back the same way.
func ExampleNewArray() {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, serverAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	m, err := rpyc.NewArray([]float64{1, 2, 3, 4, 5, 6}, 2, 3) // [[1 2 3] [4 5 6]]
	if err != nil {
		log.Fatal(err)
	}
	v, err := conn.Call(ctx, "numpy", "transpose", m)
	if err != nil {
		log.Fatal(err)
	}
	var t rpyc.Array
	if err := v.Decode(&t); err != nil {
		log.Fatal(err)
	}
	data, _ := t.Float64s()
	fmt.Println(t.DType, t.Shape, data)

	v, err = conn.CallKw(ctx, "numpy", "sum", []any{m}, map[string]any{"axis": 1})
	if err != nil {
		log.Fatal(err)
	}
	var rows []float64 // an ndarray also decodes into a typed slice
	if err := v.Decode(&rows); err != nil {
		log.Fatal(err)
	}
	fmt.Println("row sums", rows)
	// Output:
	// float64 [3 2] [1 4 2 5 3 6]
	// row sums [6 15]
}

// A Go function passed as an argument is a callable on the server, called while the call
// runs (here: a training loop that reports its progress).
func ExampleFunc() {
	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, serverAddr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	progress := rpyc.Func(func(ctx context.Context, args []any, kwargs map[string]any) (any, error) {
		fmt.Printf("epoch %v loss %.3f\n", args[0], kwargs["loss"])
		return nil, nil // an error (or a panic) becomes a Python exception on the server
	})
	// tests/fixtures/bridge_fixtures.py: train(epochs, progress) calls progress(epoch, loss=...)
	v, err := conn.Call(ctx, "bridge_fixtures", "train", 3, progress)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v)
	// Output:
	// epoch 0 loss 1.000
	// epoch 1 loss 0.500
	// epoch 2 loss 0.333
	// "trained"
}

// A Pool spreads goroutines over several connections (calls on one connection are
// serialised).
func ExampleNewPool() {
	ctx := context.Background()
	pool, err := rpyc.NewPool(ctx, serverAddr, 3)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	results := make([]int64, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := pool.Call(ctx, "math", "factorial", i)
			if err == nil {
				err = v.Decode(&results[i])
			}
			if err != nil {
				log.Fatal(err)
			}
		}()
	}
	wg.Wait()
	fmt.Println(pool.Size(), "connections:", results)
	// Output:
	// 3 connections: [1 1 2 6 24 120 720 5040]
}

// TLS as rpyc.ssl_connect does it: the server's certificate and host name are verified
// against the CA given as PEM (read from memory; nothing is written).
func ExampleWithTLS() {
	caPEM, addr, stop := exampleTLSServer()
	defer stop()

	ctx := context.Background()
	conn, err := rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: caPEM}))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	v, err := conn.Call(ctx, "math", "sqrt", 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("over TLS: math.sqrt(2) =", v)

	// A CA that did not sign the server's certificate: the dial fails.
	otherCA, _ := exampleTLSServerCert()
	_, err = rpyc.Dial(ctx, addr, rpyc.WithTLS(rpyc.TLSConfig{CA: otherCA}))
	fmt.Println("unknown CA refused:", err != nil)
	// Output:
	// over TLS: math.sqrt(2) = 1.4142135623730951
	// unknown CA refused: true
}

// PythonMain makes the program itself a Python interpreter (the embedded one), as
// `python -c`, `-m` or a script. A program calls it first thing in main:
//
//	if len(os.Args) > 1 && os.Args[1] == "python" {
//		os.Exit(rpyc.PythonMain(os.Args[1:]))
//	}
//
// Here the test binary is that program: TestMain calls PythonMain when asPythonEnv is set.
func ExamplePythonMain() {
	cmd := exec.Command(os.Args[0], "-c", "import sys, rpyc; print(sys.version_info[:2], rpyc.__version__)")
	cmd.Env = append(os.Environ(), asPythonEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output:
	// (3, 13) 6.0.2
}

// exampleTLSServerCert makes a CA and a certificate for 127.0.0.1 signed by it, as PEM:
// the CA's certificate, and the server's certificate and key in one bundle.
func exampleTLSServerCert() (caPEM, serverPEM []byte) {
	newKey := func() *ecdsa.PrivateKey {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			log.Fatal(err)
		}
		return key
	}
	now := time.Now()
	caKey, leafKey := newKey(), newKey()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "example CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		log.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "example server"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		log.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		log.Fatal(err)
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	serverPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	return caPEM, serverPEM
}

// exampleTLSServer runs tests/fixtures/tls_server.py with a new certificate; it returns
// the CA's PEM, the server's address and how to stop it.
func exampleTLSServer() (caPEM []byte, addr string, stop func()) {
	caPEM, serverPEM := exampleTLSServerCert()
	dir, err := os.MkdirTemp("", "rpyc-example-tls")
	if err != nil {
		log.Fatal(err)
	}
	bundle := filepath.Join(dir, "server.pem")
	if err := os.WriteFile(bundle, serverPEM, 0o600); err != nil {
		log.Fatal(err)
	}
	stopServer, addr, err := startServer("tls_server.py", bundle, bundle)
	if err != nil {
		log.Fatal(err)
	}
	return caPEM, addr, func() { stopServer(); os.RemoveAll(dir) }
}
