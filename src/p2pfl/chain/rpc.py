"""How long a node waits on its JSON-RPC endpoint. No imports: the CLI reads these for
its defaults and help without loading web3.

One request waits at most ``RPC_TIMEOUT_S`` for its answer, and web3 tries a read
(``eth_call``, ``eth_getLogs``, ``eth_blockNumber``, ...) ``RPC_ATTEMPTS`` times on a
timeout or connection error (its own default is 5). A read from an endpoint that never
answers (cut off by a partition, a hung provider) therefore fails after about
``RPC_ATTEMPTS * RPC_TIMEOUT_S``, and the caller backs off and retries: the longer that
is, the longer a node stays blind after its network comes back."""

RPC_TIMEOUT_S = 15.0
RPC_ATTEMPTS = 3
RPC_RETRY_BACKOFF_S = 0.25  # before the second try; doubled before the third
