"""Signed transactions against an RPC endpoint, with custom errors decoded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.logs import DISCARD
from web3.providers.rpc.utils import ExceptionRetryConfiguration
from web3.types import TxReceipt

from p2pfl.chain.artifacts import UNKNOWN_ERROR, decode_revert, link, load
from p2pfl.chain.rpc import RPC_ATTEMPTS, RPC_RETRY_BACKOFF_S, RPC_TIMEOUT_S
from p2pfl.errors import P2pflError

# This project's contracts whose custom errors a revert may carry (inheritance brings
# OpenZeppelin's).
ERROR_SOURCES = (
    "EpochManager",
    "P2pflServiceManager",
    "StakeToken",
    "CountSketch",
    "KrumVerifierRouter",
    "DevAllocationManager",
    "DevDelegationManager",
    "DevStrategyManager",
    "DevStrategy",
)
# The EigenLayer core's errors, from the project's copies of its interfaces, named as the
# core names them: the real core and the devnet stand-ins revert with the same selectors,
# so a message reads ``AllocationManager.InvalidWadToSlash()`` on either.
CORE_ERROR_SOURCES = (
    ("IAllocationManagerErrors", "AllocationManager"),
    ("IPermissionControllerMixin", "PermissionController"),
    ("IDelegationManagerErrors", "DelegationManager"),
    ("IStrategyManagerErrors", "StrategyManager"),
    ("IStrategyErrors", "StrategyBase"),
)


def decode_error(data: bytes) -> str:
    """Revert data, readable: this project's errors, the core's (see above), then any other
    error of the real core when its artifacts are at hand (:mod:`p2pfl.chain.realcore`)."""
    text = decode_revert(data, ERROR_SOURCES, CORE_ERROR_SOURCES)
    if not text.startswith(UNKNOWN_ERROR):
        return text
    from p2pfl.chain import realcore  # imports this module: imported when first needed

    try:
        folder = realcore.core_dir()
        return text if folder is None else realcore.decode_core_revert(data, folder)
    except P2pflError:  # unreadable artifacts: keep the raw data
        return text


GAS_MARGIN = 1.25
TX_GAS_CAP = 1 << 24  # EIP-7825's per-transaction gas limit


class ChainError(P2pflError):
    """A transaction or call that the chain refused, with the decoded reason."""


class Chain:
    """One RPC endpoint; transactions are signed locally with eth-account keys."""

    def __init__(self, url: str, timeout: float = RPC_TIMEOUT_S) -> None:
        self.url = url
        provider = Web3.HTTPProvider(url, request_kwargs={"timeout": timeout})
        provider.exception_retry_configuration = ExceptionRetryConfiguration(
            errors=provider.exception_retry_configuration.errors,  # web3's own
            retries=RPC_ATTEMPTS,
            backoff_factor=RPC_RETRY_BACKOFF_S,
        )
        self.w3 = Web3(provider)
        self.chain_id = int(self.w3.eth.chain_id)
        self.libraries: dict[str, str] = {}  # external libraries deployed: name -> address

    def contract(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=load(name).abi)

    def deploy(self, account: LocalAccount, name: str, *args: Any) -> str:
        """Deploy the forge artifact ``name`` with constructor ``args``; the external
        libraries it links against are deployed first (once per chain object)."""
        art = load(name)
        code = art.bytecode
        if art.link_references:
            at: dict[str, str] = {}
            for libs in art.link_references.values():
                for lib in libs:
                    if lib not in self.libraries:
                        self.libraries[lib] = self.deploy(account, lib)
                    at[lib] = self.libraries[lib]
            code = link(code, art.link_references, at)
        return self.deploy_bytecode(account, art.abi, code, *args, label=name)

    def deploy_bytecode(
        self,
        account: LocalAccount,
        abi: list[dict[str, Any]],
        bytecode: str,
        *args: Any,
        label: str = "",
    ) -> str:
        """Deploy raw (already linked) bytecode; returns the new contract's address."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        receipt = self._send(account, factory.constructor(*args), value=0)
        address = receipt["contractAddress"]
        if address is None:
            raise ChainError(f"deploying {label or 'a contract'} returned no contract address")
        return str(address)

    def transact(self, account: LocalAccount, fn: ContractFunction, value: int = 0) -> TxReceipt:
        return self._send(account, fn, value=value)

    def call(self, fn: ContractFunction) -> Any:
        try:
            return fn.call()
        except ContractLogicError as exc:
            raise ChainError(self.explain(exc)) from None

    def explain(self, exc: ContractLogicError) -> str:
        data = exc.data if isinstance(exc.data, str) else None
        if data and data.startswith("0x"):
            return decode_error(bytes(HexBytes(data)))
        return str(exc)

    def _send(self, account: LocalAccount, fn: Any, value: int) -> TxReceipt:
        params: dict[str, Any] = {
            "from": account.address,
            "nonce": self.w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": self.chain_id,
            "value": value,
        }
        try:
            tx = fn.build_transaction(params)  # estimates gas: reverts surface here
        except ContractLogicError as exc:
            raise ChainError(self.explain(exc)) from None
        except Web3RPCError as exc:  # the node refused it: no ETH for gas, a bad nonce, ...
            raise ChainError(f"{account.address}: {_rpc_message(exc)}") from None
        # Gas depends on block data (the election walks the stakes from a blockhash that
        # differs between estimate and execution): leave a margin, within the tx cap.
        tx["gas"] = min(int(tx["gas"] * GAS_MARGIN) + 20_000, TX_GAS_CAP)
        signed = account.sign_transaction(tx)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Web3RPCError as exc:
            raise ChainError(f"{account.address}: {_rpc_message(exc)}") from None
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise ChainError(f"transaction 0x{tx_hash.hex()} reverted: {self._replay(tx, receipt)}")
        return receipt

    def _replay(self, tx: dict[str, Any], receipt: TxReceipt) -> str:
        """Why a mined transaction reverted: rerun it as a call at its block (same height)."""
        call = {key: tx[key] for key in ("from", "to", "data", "value") if key in tx}
        try:
            self.w3.eth.call(call, receipt["blockNumber"])  # type: ignore[arg-type]
        except ContractLogicError as exc:
            return self.explain(exc)
        return f"no reason on replay (gas used {receipt['gasUsed']})"


def account(key: str) -> LocalAccount:
    acct: LocalAccount = Account.from_key(key)
    return acct


def events(contract: Contract, receipt: TxReceipt, name: str) -> Sequence[Any]:
    """Decoded events ``name`` emitted by ``contract`` in ``receipt``."""
    return list(getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD))


def _rpc_message(exc: Web3RPCError) -> str:
    """The JSON-RPC error's message ("Insufficient funds for gas * price + value")."""
    data = exc.rpc_response.get("error") if isinstance(exc.rpc_response, dict) else None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return str(exc)
