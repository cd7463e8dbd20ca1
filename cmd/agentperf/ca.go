package main

import (
	"fmt"

	"github.com/agentperf/agentperf/proxy"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "ca",
		Usage:     "print the MITM capture CA's path and the environment each agent needs",
		ArgsUsage: " ",
		Description: `ca creates the capture CA on first use (an ECDSA P-256 CA valid ten years;
ca.pem, ca-key.pem with mode 0600, and ca-bundle.pem = system roots + CA, in
the user config dir/agentperf or --ca-dir) and prints shell lines that point
agents at 'agentperf record --mitm': HTTPS_PROXY, NO_PROXY,
NODE_EXTRA_CA_CERTS (Claude Code, opencode, Node SDKs), CODEX_CA_CERTIFICATE
(Codex CLI) and SSL_CERT_FILE (Python SDKs, curl).

Anyone holding ca-key.pem can impersonate any site to a client that trusts
the CA: keep it private, and trust it only in the agents' environment.

Examples:
   agentperf ca
   eval "$(agentperf ca --proxy http://127.0.0.1:8788)"
   agentperf ca --ca-dir /tmp/agentperf-ca --path`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ca-dir", EnvVars: []string{proxy.CADirEnv}, Usage: "`DIR` holding the CA (default: the user config dir/agentperf)"},
			&cli.StringFlag{Name: "proxy", Value: "http://127.0.0.1:8788", Usage: "the MITM proxy's `URL` to put in HTTPS_PROXY"},
			&cli.BoolFlag{Name: "path", Usage: "print only the CA certificate's path"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return exitCode(2, fmt.Errorf("ca takes no arguments (see --help)"))
			}
			dir := c.String("ca-dir")
			if dir == "" {
				var err error
				if dir, err = proxy.DefaultCADir(); err != nil {
					return err
				}
			}
			ca, err := proxy.LoadOrCreateCA(dir)
			if err != nil {
				return err
			}
			if c.Bool("path") {
				fmt.Fprintln(c.App.Writer, ca.CertPath)
				return nil
			}
			if ca.Created {
				fmt.Fprintf(c.App.ErrWriter, "agentperf ca: created a new CA in %s\n", dir)
			}
			fmt.Fprint(c.App.Writer, proxy.AgentEnv(ca, c.String("proxy")))
			return nil
		},
	})
}
