"""Schemathesis hooks for `cargo xtask test`'s fuzz run (tools/xtask/src/fuzz.rs).

The API counts requests per source IP, 60 a minute by default, before it looks at the key. A fuzzer on one address
would collect `429`s after its first minute's 60 requests and explore nothing behind them. So, as the API tests and
the bench's load run do, the fuzzer speaks from its own loopback addresses (127.88.x.y, every one of them loopback on
Linux) and moves to the next one every `REQUESTS_PER_ADDRESS` requests, below the limit. Every request opens its own
connection (`Connection: close`, set in schemathesis.toml), so each connection, and so each request, is bound to the
address its turn falls on; the first address is random, so that runs close together do not share a count. The
limit itself is left as deployed: the API tests cover it.
"""

import random
import threading

import schemathesis
import urllib3.util.connection
from hypothesis import strategies as st

REQUESTS_PER_ADDRESS = 50

_lock = threading.Lock()
# A random first address, so that a run started within a minute of another does not inherit its counts.
_connections = random.SystemRandom().randrange(250 * 250) * REQUESTS_PER_ADDRESS
_create_connection = urllib3.util.connection.create_connection


def _next_source_address() -> str:
    global _connections
    with _lock:
        n = _connections // REQUESTS_PER_ADDRESS
        _connections += 1
    return f"127.88.{n // 250 % 250 + 1}.{n % 250 + 1}"


def _create_connection_from_own_address(address, *args, source_address=None, **kwargs):
    if source_address is None and address[0] in ("127.0.0.1", "localhost"):
        source_address = (_next_source_address(), 0)
    return _create_connection(address, *args, source_address=source_address, **kwargs)


urllib3.util.connection.create_connection = _create_connection_from_own_address


# A phone number must be a valid number for its region (libphonenumber's metadata), which no pattern in the document
# can say, so nearly every number generated from the document's patterns is refused before the logic behind it:
# cooldowns, charges, the sends, and the links to CheckMessageStatus and verify. Half of the bodies that carry a
# number get a valid Saudi mobile number in its place (drawn by Hypothesis, so the seed still decides); the other half
# keep what the document's schema generated.
_SAUDI_MOBILE = st.integers(min_value=0, max_value=9_999_999).map(lambda n: f"96655{n:07d}")
_NUMBER_PREFIXES = {"toPhoneE164": st.just("+"), "receiver": st.sampled_from(["+", "00"])}


@schemathesis.hook
def flatmap_body(context, body):
    if not isinstance(body, dict):
        return st.just(body)
    for field, prefixes in _NUMBER_PREFIXES.items():
        if isinstance(body.get(field), str):
            valid = st.tuples(prefixes, _SAUDI_MOBILE).map(lambda parts, field=field: {**body, field: "".join(parts)})
            return st.one_of(st.just(body), valid)
    return st.just(body)
