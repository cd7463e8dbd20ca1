package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// CA file names inside the CA directory.
const (
	CACertFile   = "ca.pem"        // the CA certificate agents must trust
	CAKeyFile    = "ca-key.pem"    // its private key, mode 0600
	CABundleFile = "ca-bundle.pem" // system roots plus the CA, for SSL_CERT_FILE
)

// CADirEnv names the environment variable that overrides the default CA
// directory.
const CADirEnv = "AGENTPERF_CA_DIR"

// DefaultCADir returns $AGENTPERF_CA_DIR, or the agentperf directory under
// the user's config directory (~/.config/agentperf on Linux).
func DefaultCADir() (string, error) {
	if d := os.Getenv(CADirEnv); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no user config directory for the CA (set %s or --ca-dir): %w", CADirEnv, err)
	}
	return filepath.Join(base, "agentperf"), nil
}

// CA is the certificate authority that signs the MITM proxy's per-host
// certificates.
type CA struct {
	// Cert is the CA's certificate and key, with Leaf parsed.
	Cert tls.Certificate
	// CertPath and BundlePath are the files to hand to agents; BundlePath
	// is "" when no system root store was found.
	CertPath, BundlePath string
	// Created is true when LoadOrCreateCA made a new CA.
	Created bool
}

// LoadOrCreateCA loads the CA in dir, creating an ECDSA P-256 CA valid for
// ten years on first use (key file mode 0600, directory 0700). It refuses
// a key file readable by others. It also (re)writes the bundle of system
// roots plus the CA.
func LoadOrCreateCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	ca := &CA{CertPath: certPath}
	_, certErr := os.Stat(certPath)
	st, keyErr := os.Stat(keyPath)
	switch {
	case errors.Is(certErr, os.ErrNotExist) && errors.Is(keyErr, os.ErrNotExist):
		if err := createCA(dir, certPath, keyPath); err != nil {
			return nil, err
		}
		ca.Created = true
	case certErr != nil:
		return nil, fmt.Errorf("CA certificate %s: %w", certPath, certErr)
	case keyErr != nil:
		return nil, fmt.Errorf("CA key %s: %w", keyPath, keyErr)
	case st.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("CA key %s is readable by others (mode %04o): run chmod 600 %s", keyPath, st.Mode().Perm(), keyPath)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("loading CA from %s: %w", dir, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	if time.Now().After(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("CA certificate %s expired on %s: remove %s and %s to make a new one", certPath, cert.Leaf.NotAfter.Format(time.DateOnly), certPath, keyPath)
	}
	ca.Cert = cert
	ca.BundlePath = writeBundle(dir, certPath)
	return ca, nil
}

func createCA(dir, certPath, keyPath string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "agentperf capture CA (" + host + ")", Organization: []string{"agentperf"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	// Key first, exclusively, 0600: a crash leaves no readable key.
	kf, err := os.OpenFile(keyPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := pem.Encode(kf, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}); err != nil {
		kf.Close()
		return err
	}
	if err := kf.Close(); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// systemRootFiles are where common systems keep their PEM root bundle.
var systemRootFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine
	"/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
	"/etc/ssl/cert.pem",                  // macOS, OpenBSD
	"/etc/ssl/ca-bundle.pem",             // openSUSE
}

// writeBundle writes system roots plus the CA to the bundle file and
// returns its path, or "" when no system bundle exists.
func writeBundle(dir, certPath string) string {
	ca, err := os.ReadFile(certPath)
	if err != nil {
		return ""
	}
	for _, f := range systemRootFiles {
		roots, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		out := filepath.Join(dir, CABundleFile)
		b := append(append(append([]byte(nil), roots...), '\n'), ca...)
		if err := os.WriteFile(out, b, 0o644); err != nil {
			return ""
		}
		return out
	}
	return ""
}

// certCache keeps signed leaf certificates per host (goproxy CertStore).
type certCache struct {
	mu sync.Mutex
	m  map[string]*tls.Certificate
}

// Fetch returns the cached certificate for host or makes one with gen.
func (c *certCache) Fetch(host string, gen func() (*tls.Certificate, error)) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cert, ok := c.m[host]; ok {
		return cert, nil
	}
	cert, err := gen()
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*tls.Certificate{}
	}
	c.m[host] = cert
	return cert, nil
}

// AgentEnv returns the shell lines that point agents at a MITM proxy at
// proxyURL trusting ca, with a comment per agent.
func AgentEnv(ca *CA, proxyURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# agentperf capture CA: %s\n", ca.CertPath)
	fmt.Fprintf(&b, "# Every agent: send HTTPS through the proxy, but not local traffic.\n")
	fmt.Fprintf(&b, "export HTTPS_PROXY=%s\nexport NO_PROXY=localhost,127.0.0.1,::1\n", proxyURL)
	fmt.Fprintf(&b, "# Claude Code, opencode, Node SDKs (added to Node's built-in roots):\n")
	fmt.Fprintf(&b, "export NODE_EXTRA_CA_CERTS=%s\n", ca.CertPath)
	fmt.Fprintf(&b, "# Codex CLI:\n")
	fmt.Fprintf(&b, "export CODEX_CA_CERTIFICATE=%s\n", ca.CertPath)
	if ca.BundlePath != "" {
		fmt.Fprintf(&b, "# Python SDKs (httpx), curl and other OpenSSL clients (system roots plus the CA):\n")
		fmt.Fprintf(&b, "export SSL_CERT_FILE=%s\n", ca.BundlePath)
		fmt.Fprintf(&b, "export REQUESTS_CA_BUNDLE=%s\n", ca.BundlePath)
	} else {
		fmt.Fprintf(&b, "# Python SDKs (httpx), curl and other OpenSSL clients: no system root bundle was\n")
		fmt.Fprintf(&b, "# found to extend; SSL_CERT_FILE must name a file with your roots plus %s.\n", ca.CertPath)
		fmt.Fprintf(&b, "export SSL_CERT_FILE=%s\n", ca.CertPath)
	}
	return b.String()
}
