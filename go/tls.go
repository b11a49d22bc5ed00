package rpyc

// TLSConfig makes Dial speak TLS, as rpyc.ssl_connect does, through the embedded Python's
// ssl module and its static OpenSSL. The server's certificate and its host name are always
// verified, against CA (PEM) and CAFile, or, when neither is given, the system's CA
// bundle under /etc/ssl (SSL_CERT_FILE and SSL_CERT_DIR override it). A FROM scratch image
// has no CA bundle: pass the CA as PEM.
type TLSConfig struct {
	// CA holds the trusted CA certificates, PEM encoded.
	CA []byte
	// CAFile names a PEM file of trusted CA certificates, read at Dial.
	CAFile string

	// Cert and Key are the client certificate chain (leaf first) and its private key,
	// PEM encoded, for servers that require mutual TLS. They are read from memory: nothing
	// is written to disk. Key may be empty when Cert holds the key too.
	Cert, Key []byte
	// CertFile and KeyFile name the same as PEM files, instead of Cert and Key.
	CertFile, KeyFile string
	// KeyPassword decrypts an encrypted private key.
	KeyPassword string

	// ServerName is the name the server's certificate must carry; by default the host
	// given to Dial (a name or an IP address).
	ServerName string
}

// tlsOptions is TLSConfig as the runtime reads it (src/python/rpyc_bridge_rt/tls.py).
type tlsOptions struct {
	CAPEM       string `json:"ca_pem,omitempty"`
	CAFile      string `json:"ca_file,omitempty"`
	CertPEM     string `json:"cert_pem,omitempty"`
	KeyPEM      string `json:"key_pem,omitempty"`
	CertFile    string `json:"cert_file,omitempty"`
	KeyFile     string `json:"key_file,omitempty"`
	KeyPassword string `json:"key_password,omitempty"`
	ServerName  string `json:"server_name,omitempty"`
}

// WithTLS connects over TLS (see TLSConfig). Errors in the configuration (an unreadable
// CA, a key that does not match its certificate) fail Dial with ErrArgument; a refused
// certificate, a wrong host name or a server that refuses ours fail it with ErrConnect.
func WithTLS(cfg TLSConfig) DialOption {
	opts := &tlsOptions{
		CAPEM:       string(cfg.CA),
		CAFile:      cfg.CAFile,
		CertPEM:     string(cfg.Cert),
		KeyPEM:      string(cfg.Key),
		CertFile:    cfg.CertFile,
		KeyFile:     cfg.KeyFile,
		KeyPassword: cfg.KeyPassword,
		ServerName:  cfg.ServerName,
	}
	return func(o *dialOptions) { o.TLS = opts }
}
