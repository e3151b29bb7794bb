"""The ICE servers each person gets in their welcome: STUN and TURN servers from the
configuration and, when a TURN REST API secret is set, TURN credentials of their own
that expire (coturn's `use-auth-secret`). The secret itself never leaves the server."""

import base64
import hashlib
import hmac
import secrets
import time


def turn_credentials(secret, name, lifetime, now=None):
    """coturn's scheme: username "<expiry unix time>:<name>", password
    base64(HMAC-SHA1(secret, username)). coturn recomputes the password from the secret,
    so the two servers share nothing but the secret, and a leaked pair soon expires."""
    expiry = int((time.time() if now is None else now) + lifetime)
    username = f"{expiry}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(config):
    """RTCConfiguration.iceServers for one person. Their TURN username names nobody and no
    room (coturn logs it): random, so that two people's never match."""
    servers = list(config["ICE_SERVERS"])
    if config["TURN_SECRET"] and config["TURN_URLS"]:
        username, credential = turn_credentials(
            config["TURN_SECRET"], secrets.token_hex(8), config["TURN_CREDENTIAL_SECONDS"])
        servers.append({"urls": config["TURN_URLS"], "username": username, "credential": credential})
    return servers
