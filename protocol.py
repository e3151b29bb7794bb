"""The wire protocol between a client (a page, the Python peer) and the signaling server,
written as code: what each message looks like, and the errors the server answers with.
README.md ("The wire protocol") describes the same, for people.

Every frame is a JSON object with a string "type".

client -> server
  join       {"secret"}        the first message on every socket: the room's secret, the
                               part of its link after "#". The first person in an empty
                               room sets it; whoever brings the same one goes straight in.
  admit      {}                let in the person knocking
  decline    {}                send the person knocking away
  offer      {"sdp"}           relayed as they are to the other person
  answer     {"sdp"}
  candidate  {"candidate"}     RTCIceCandidate.toJSON(), or null at the end
             In a group room each of these three also carries "to": the id of the one
             member it is for.

server -> client
  welcome    {room, peers, polite, iceServers, iceTransportPolicy, echoToken, secret?}
             you are in; peers is 0 (you wait) or 1. "secret" is there for someone let in
             by a knock: with it, their page rejoins after a lost connection unasked.
  knocking   {}                the room is taken and you lack its secret: you wait to be let in
  knock      {}                someone without the secret asks to join (answer admit or decline)
  knock-ended {}               they left, or someone with the link came in instead
  peer-joined, peer-left {}
  offer, answer, candidate     from the other person
  error      {code, message}   code for programs, message for people; CLOSING_ERRORS close

Group rooms (/ws/group/<room>, up to GROUP_SIZE people, one connection per pair: a mesh)
change three things. Every socket has an id, 8 hex digits, new on every connection:
  welcome    {room, id, members, size, iceServers, iceTransportPolicy, secret?}
             members: the ids already there. No polite: for each pair, the one who came
             later is polite, and the ones already there offer to the newcomer.
  peer-joined, peer-left {id}
  offer, answer, candidate {from, ...}   "to" replaced by the sender's id
"""

import json
import re

ROOM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
BAD_ROOM_MESSAGE = "A room name is 1 to 64 letters, digits, '-' or '_'."
# 128 bits in base64url is 22 characters: accept 22 (what pages make) to 64.
SECRET = re.compile(r"[A-Za-z0-9_-]{22,64}")
# A member's id in a group room: 8 hex digits, new for every socket (signaling.Member).
MEMBER_ID = re.compile(r"[0-9a-f]{8}")

# The errors after which the server closes the socket, with their WebSocket close codes
# (RFC 6455: 1008 policy violation, 1009 message too big, 1013 try again later).
CLOSING_ERRORS = {"bad-room": 1008, "bad-join": 1008, "room-full": 1008, "declined": 1008,
                  "nobody-there": 1008, "server-full": 1013, "too-large": 1009,
                  "rate-limited": 1008, "too-many": 1008, "too-slow": 1008,
                  "unavailable": 1013}


def is_valid_room(name):
    return isinstance(name, str) and ROOM_NAME.fullmatch(name) is not None


class ProtocolError(Exception):
    """Something the server refuses: `code` for programs, the message for people."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code

    @property
    def closes(self):
        return self.code in CLOSING_ERRORS

    @property
    def close_code(self):
        return CLOSING_ERRORS.get(self.code, 1000)

    def frame(self):
        return message("error", code=self.code, message=str(self))


def message(kind, **fields):
    """A frame the server sends: message("knock") -> '{"type": "knock"}'."""
    return json.dumps({"type": kind, **fields})


def bad_room():
    return ProtocolError("bad-room", BAD_ROOM_MESSAGE)


def room_full(size=2):
    if size == 2:
        return ProtocolError("room-full", "This room already has two people in a call. Try another room.")
    return ProtocolError("room-full", f"This group call already has {size} people, its most.")


def nobody_with(member_id):
    return ProtocolError("bad-message", f"Nobody with id {member_id[:16]!r} is in this room.")


def peer_event(kind, member_id, group):
    """peer-joined or peer-left: in a group room it says who."""
    return message(kind, id=member_id) if group else message(kind)


def server_full():
    return ProtocolError("server-full", "The server is at its limit of calls. Try again in a few minutes.")


def declined():
    return ProtocolError("declined", "The person in this room did not let you in.")


def nobody_there():
    return ProtocolError("nobody-there", "The person you asked to let you in has left the room.")


def rate_limited(what="messages"):
    return ProtocolError("rate-limited", f"Too many {what} too fast; this connection is closed.")


def _require(condition, text, code="bad-message"):
    if not condition:
        raise ProtocolError(code, text)


def _is_optional(value, kind):
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


def _check_description(message):
    _require(isinstance(message.get("sdp"), str), f'A "{message["type"]}" needs an "sdp" string.')


def _check_candidate(message):
    _require("candidate" in message, 'A "candidate" message needs a "candidate" field (null for the end).')
    candidate = message["candidate"]
    if candidate is None:
        return
    _require(isinstance(candidate, dict), '"candidate" must be an object like RTCIceCandidate.toJSON() gives, or null.')
    _require(isinstance(candidate.get("candidate"), str), '"candidate.candidate" must be a string.')
    _require(_is_optional(candidate.get("sdpMid"), str), '"candidate.sdpMid" must be a string or null.')
    index = candidate.get("sdpMLineIndex")
    _require(_is_optional(index, int) and (index is None or index >= 0),
             '"candidate.sdpMLineIndex" must be a whole number or null.')
    _require(_is_optional(candidate.get("usernameFragment"), str),
             '"candidate.usernameFragment" must be a string or null.')


def _check_nothing(message):
    pass


# Passed unchanged to the other person.
RELAYED = {"offer": _check_description, "answer": _check_description, "candidate": _check_candidate}
# What of each a group room passes on: nothing else a client adds.
RELAYED_FIELDS = {"offer": "sdp", "answer": "sdp", "candidate": "candidate"}
# Answers to a knock, for the server itself.
KNOCK_ANSWERS = {"admit": _check_nothing, "decline": _check_nothing}


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: a browser's JSON.parse refuses them


def parse(frame, max_bytes, expected):
    """The message in `frame`, if it is valid and its type is one of `expected` (a dict of
    type -> check); ProtocolError otherwise."""
    _require(isinstance(frame, str), "Send JSON in text frames, not binary frames.")
    _require(len(frame.encode()) <= max_bytes, f"A message may be at most {max_bytes} bytes.", "too-large")
    try:
        parsed = json.loads(frame, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ProtocolError("bad-json", "That was not valid JSON.") from None
    _require(isinstance(parsed, dict), "A message must be a JSON object.")
    _require(isinstance(parsed.get("type"), str), 'A message needs a string "type".')
    check = expected.get(parsed["type"])
    _require(check is not None, f'Unknown type {parsed["type"][:40]!r}: '
             f'expected one of {", ".join(expected)}.', "unknown-type")
    check(parsed)
    return parsed


def check_message(frame, max_bytes):
    """Raise ProtocolError unless `frame` is a message worth relaying."""
    return parse(frame, max_bytes, RELAYED)


def addressed(parsed, sender_id):
    """A group room's message: whom it is for, and the frame they get, which says whom it
    is from instead."""
    to = parsed.get("to")
    _require(isinstance(to, str) and MEMBER_ID.fullmatch(to) is not None,
             f'In a group room, "{parsed["type"]}" needs "to": the id of the member it is for.')
    field = RELAYED_FIELDS[parsed["type"]]
    # Rebuilt from what it must hold: a client's own "from", or anything else, never passes.
    # Non-ASCII stays itself, so the frame is no larger than the one sent.
    return to, json.dumps({"type": parsed["type"], field: parsed[field], "from": sender_id},
                          ensure_ascii=False, separators=(",", ":"))


def parse_join(frame, max_bytes=4096):
    """The secret in a client's first message."""
    try:
        joined = parse(frame, max_bytes, {"join": _check_nothing})
    except ProtocolError as error:
        raise ProtocolError("bad-join", 'Send {"type": "join", "secret": ...} first: '
                            f'{error}') from None
    secret = joined.get("secret")
    _require(isinstance(secret, str) and SECRET.fullmatch(secret) is not None,
             'A room\'s secret ("secret") is 22 to 64 letters, digits, "-" or "_".', "bad-join")
    return secret
