"""The proxy node's config text: squid.conf for each proxy mode (with ssl-bump when the
lab intercepts TLS), the commands that make the interception CA, and the hosts files
that keep every name inside the lab. Pure, like ``pathprobe.lab.topology``: the
manager writes these files and runs the commands.
"""

from __future__ import annotations

from pathprobe.lab.topology import (
    AUTH_REALM,
    CERT_DB,
    CERTGEN,
    DENIED_NAME,
    LONG_PROXY_NAME,
    PROXY_CA_CERT,
    PROXY_CA_KEY,
    PROXY_CA_NAME,
    PROXY_NAME,
    PROXY_PORT,
    PROXY_V4,
    PROXY_V6,
    UPSTREAM_NAME,
    UPSTREAM_TLS_PORT,
    UPSTREAM_V4,
    UPSTREAM_V6,
    ProxyMode,
)


def hosts_file() -> str:
    """Names squid resolves; only lab addresses, so it never looks anything up outside."""
    return (f"{UPSTREAM_V4} {UPSTREAM_NAME}\n{UPSTREAM_V6} {UPSTREAM_NAME}\n"
            f"{UPSTREAM_V4} {DENIED_NAME}\n")


def fmc_hosts_file(system_hosts: str) -> str:
    """/etc/hosts as the fmc namespace sees it ('ip netns exec' mounts it from
    /etc/netns/NS/hosts): the host's own lines plus the proxy's lab names."""
    base = system_hosts if system_hosts.endswith("\n") or not system_hosts else system_hosts + "\n"
    return (f"{base}# pathprobe lab: names of the lab proxy (lab addresses only)\n"
            f"{PROXY_V4} {PROXY_NAME} {LONG_PROXY_NAME}\n"
            f"{PROXY_V6} {PROXY_NAME} {LONG_PROXY_NAME}\n")


def ca_commands(workdir: str) -> list[list[str]]:
    """The lab interception CA (openssl) and squid's empty certificate database, in order.

    The CA is what a decrypting proxy signs its forged certificates with:
    basicConstraints CA:TRUE and keyUsage keyCertSign, valid for two days.
    """
    return [
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/O=pathprobe lab/CN={PROXY_CA_NAME}",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-keyout", f"{workdir}/{PROXY_CA_KEY}", "-out", f"{workdir}/{PROXY_CA_CERT}"],
        [CERTGEN, "-c", "-s", f"{workdir}/{CERT_DB}", "-M", "4MB"],
    ]


def _ssl_bump_lines(workdir: str) -> list[str]:
    """Peek at step 1 (learn the SNI), then bump: the client gets a certificate for the
    target name issued by the lab CA. Connections to other ports than 443 (the reflector)
    are spliced, as enterprise proxies usually do."""
    return [
        f"sslcrtd_program {CERTGEN} -s {workdir}/{CERT_DB} -M 4MB",
        "sslcrtd_children 3 startup=1 idle=1",
        "tls_outgoing_options flags=DONT_VERIFY_PEER",   # the lab upstream is self-signed
        "sslproxy_cert_error allow all",
        f"acl tls_port port {UPSTREAM_TLS_PORT}",
        "acl step1 at_step SslBump1",
        "ssl_bump splice !tls_port",
        "ssl_bump peek step1",
        "ssl_bump bump all",
    ]


def squid_conf(mode: ProxyMode, workdir: str, intercept: bool = False) -> str:
    """squid.conf for the proxy namespace: private files, lab destinations only; with
    ``intercept``, TLS to port 443 is decrypted with the lab CA (ssl-bump)."""
    bump = (f" ssl-bump tls-cert={workdir}/{PROXY_CA_CERT} tls-key={workdir}/{PROXY_CA_KEY}"
            " generate-host-certificates=on dynamic_cert_mem_cache_size=4MB"
            if intercept else "")
    lines = [
        f"http_port {PROXY_V4}:{PROXY_PORT}{bump}",
        f"http_port [{PROXY_V6}]:{PROXY_PORT}{bump}",
        f"pid_filename {workdir}/squid.pid",
        f"access_log stdio:{workdir}/access.log",
        f"cache_log {workdir}/cache.log",
        "cache_store_log none",
        f"coredump_dir {workdir}",
        f"hosts_file {workdir}/hosts",
        "dns_nameservers 127.0.0.1",
        "dns_timeout 2 seconds",
        "cache deny all",
        "cache_mem 4 MB",
        "visible_hostname pathprobe-lab-proxy",
        "shutdown_lifetime 0 seconds",
        "pinger_enable off",
        "connect_timeout 5 seconds",
        "forwarded_for delete",
        "acl lab_dst dst 198.18.0.0/15 2001:db8::/32",
        f"acl denied_name dstdomain -n {DENIED_NAME}",
        "http_access deny !lab_dst",
        "http_access deny denied_name",
    ]
    if mode is ProxyMode.BASIC:
        lines += [f"auth_param basic program /usr/lib/squid/basic_ncsa_auth {workdir}/passwd",
                  f"auth_param basic realm {AUTH_REALM}", "auth_param basic children 2"]
    elif mode is ProxyMode.DIGEST:
        lines += [f"auth_param digest program /usr/lib/squid/digest_file_auth "
                  f"{workdir}/digest_passwd",
                  f"auth_param digest realm {AUTH_REALM}", "auth_param digest children 2"]
    elif mode is ProxyMode.NTLM:
        lines += ["auth_param ntlm program /usr/lib/squid/ntlm_fake_auth",
                  "auth_param ntlm children 2"]
    if mode in (ProxyMode.BASIC, ProxyMode.DIGEST, ProxyMode.NTLM):
        lines += ["acl authed proxy_auth REQUIRED", "http_access deny !authed"]
    if mode is ProxyMode.ACL:
        lines += ["http_access deny CONNECT"]
    if mode is ProxyMode.CONNECT_ONLY:
        lines += ["http_access deny !CONNECT"]
    lines += ["http_access allow lab_dst", "http_access deny all"]
    if intercept:
        lines += _ssl_bump_lines(workdir)
    return "\n".join(lines) + "\n"
