"""TLS for connections: an ssl.SSLContext made from the options Go passes (trusted CAs,
client certificate, server name). The server's certificate and host name are verified
unless the options say otherwise; nothing is read from or written to disk unless a
file is named."""

import ssl

import _rpyc_bridge_native

from .errors import BridgeError, ERR_ARGUMENT, ERR_CONNECT

_KNOWN = frozenset(("ca_pem", "ca_file", "cert_pem", "key_pem", "cert_file", "key_file", "key_password",
                    "server_name"))


def client_context(tls):
    """The SSLContext for `tls` (a dict of the keys above, all strings)."""
    if not isinstance(tls, dict):
        raise BridgeError(ERR_ARGUMENT, "option tls must be an object")
    unknown = sorted(set(tls) - _KNOWN)
    if unknown:
        raise BridgeError(ERR_ARGUMENT, "unknown tls option(s): %s" % ", ".join(unknown))
    for key, value in tls.items():
        if not isinstance(value, str):
            raise BridgeError(ERR_ARGUMENT, "tls option %s must be a string" % key)
    # TLS 1.2 or later, CERT_REQUIRED and check_hostname: Python's client defaults.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _load_trust(context, tls.get("ca_pem"), tls.get("ca_file"))
    _load_client_certificate(context, tls)
    return context


def _load_trust(context, ca_pem, ca_file):
    if not ca_pem and not ca_file:
        # The system's bundle, where OpenSSL looks for it (/etc/ssl; SSL_CERT_FILE and
        # SSL_CERT_DIR override). A scratch image has none: pass the CA in the options.
        context.load_default_certs()
        return
    try:
        context.load_verify_locations(cafile=ca_file or None, cadata=ca_pem or None)
    except (ssl.SSLError, OSError, ValueError) as err:
        given = (["the CA PEM"] if ca_pem else []) + (["CA file %r" % ca_file] if ca_file else [])
        raise BridgeError(ERR_ARGUMENT, "cannot load %s: %s" % (" or ".join(given), reason(err))) from None


def _load_client_certificate(context, tls):
    cert_pem, key_pem = tls.get("cert_pem"), tls.get("key_pem")
    cert_file, key_file = tls.get("cert_file"), tls.get("key_file")
    password = tls.get("key_password") or None
    if (cert_pem or key_pem) and (cert_file or key_file):
        raise BridgeError(ERR_ARGUMENT, "give the client certificate as PEM or as files, not both")
    if (key_pem and not cert_pem) or (key_file and not cert_file):
        raise BridgeError(ERR_ARGUMENT, "a client key needs its certificate")
    try:
        if cert_file:
            context.load_cert_chain(cert_file, key_file or None, password)
        elif cert_pem:
            # Python's ssl module reads certificates from files only; this reads them from
            # memory, so a scratch image needs no writable file system for mutual TLS.
            _rpyc_bridge_native.load_cert_chain_pem(context, cert_pem.encode(), (key_pem or cert_pem).encode(),
                                                    password.encode() if password else None)
    except (ssl.SSLError, OSError, ValueError) as err:
        raise BridgeError(ERR_ARGUMENT, "cannot load the client certificate and key: %s" % reason(err)) from None


def _handshake(sock, context, server_name):
    try:
        return context.wrap_socket(sock, server_hostname=server_name)
    except BaseException:
        sock.close()
        raise


def wrap(sock, context, server_name, address):
    """Runs the TLS handshake on the connected `sock` (its timeout bounds it); closes
    `sock` if it fails."""
    try:
        return _handshake(sock, context, server_name)
    except ssl.SSLCertVerificationError as err:
        raise BridgeError(ERR_CONNECT, "TLS with %s: the server's certificate was refused: %s%s"
                          % (address, err.verify_message or reason(err), _no_trust_hint(context))) from None
    except (ssl.SSLError, OSError) as err:
        raise BridgeError(ERR_CONNECT, "TLS handshake with %s failed: %s" % (address, reason(err))) from None


def _no_trust_hint(context):
    paths = ssl.get_default_verify_paths()
    if context.cert_store_stats()["x509_ca"] == 0 and paths.cafile is None and paths.capath is None:
        return (" (no CA was given and the system has none at %s, as in a scratch image: pass the CA as PEM)"
                % paths.openssl_cafile)
    return ""


def reason(err):
    # "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ... (_ssl.c:1000)"
    text = str(err)
    return text[:text.rfind(" (_ssl.c:")] if text.endswith(")") and " (_ssl.c:" in text else text
