// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import "./StarkCurve.sol";
import "./interfaces.sol";

/// @title StarkExCore
/// @notice The subset of the StarkEx v4.0.1 core contract (as ImmutableX ran it; PROTOCOL.md A)
/// that starkroute uses, with the rules and revert strings of the sandbox's contract
/// (`crates/sandbox/src/l1/starkex_core.rs`): token registry, user registration (Stark ECDSA
/// checked on-chain), deposits and their cancellation, withdrawals, full withdrawals, freeze and
/// escape.
///
/// Differences from StarkEx, all shared with the sandbox:
/// - `updateState` is operator-only and takes the batch's effects directly (new vault root,
///   deposits consumed, withdrawals credited, full withdrawals served). It stands in for
///   StarkEx's `updateState(programOutput, ...)` checked against the verifier's fact registry:
///   nothing here proves the batch.
/// - `escape` takes the vault's Merkle path (sibling hashes, leaf level first) and checks it
///   with the Pedersen hash against the frozen vault root, where StarkEx asks a separate
///   `EscapeVerifier` with which the path was registered first.
/// - Deposits refuse a Stark key that is 0 or not below the field prime (`INVALID_STARK_KEY`)
///   and a vault id not below 2^31 (`OUT_OF_RANGE_VAULT_ID`); a pending deposit and a
///   withdrawal balance are bounded by 2^63 - 1 quanta.
/// - Mintable assets: deposits are refused (`MINTABLE_ASSET_TYPE`); `withdrawAndMint` mints them
///   on L1 through the token's `mintFor`.
contract StarkExCore {
    uint256 internal constant K_MODULUS = 0x800000000000011000000000000000000000000000000000000000000000001;
    uint256 internal constant MASK_250 = (1 << 250) - 1;
    uint256 internal constant MASK_240 = (1 << 240) - 1;
    uint256 internal constant MINTABLE_ASSET_ID_FLAG = 1 << 250;
    uint256 internal constant VAULT_ID_BOUND = 1 << 31;
    uint256 internal constant MAX_QUANTIZED = (1 << 63) - 1;
    uint256 public constant DEPOSIT_CANCEL_DELAY = 2 days;
    uint256 public constant FREEZE_GRACE_PERIOD = 7 days;
    uint256 public constant UNFREEZE_DELAY = 365 days;
    uint256 public constant VAULT_TREE_HEIGHT = 31;

    bytes4 internal constant ETH_SELECTOR = 0x8322fff2;
    bytes4 internal constant ERC20_SELECTOR = 0xf47261b0;
    bytes4 internal constant ERC721_SELECTOR = 0x02571792;
    bytes4 internal constant MINTABLE_ERC20_SELECTOR = 0x68646e2d;
    bytes4 internal constant MINTABLE_ERC721_SELECTOR = 0xb8b86672;

    /// A deposit a batch consumed.
    struct DepositConsumed {
        uint256 starkKey;
        uint256 assetId;
        uint256 vaultId;
        uint256 quantizedAmount;
    }

    /// A withdrawal a batch credits to `ownerKey`.
    struct WithdrawalCredit {
        uint256 ownerKey;
        uint256 assetId;
        uint256 quantizedAmount;
    }

    /// A full-withdrawal request a batch served.
    struct FullWithdrawalServed {
        uint256 starkKey;
        uint256 vaultId;
    }

    address public immutable operator;
    address public immutable tokensAdmin;

    mapping(uint256 => bytes) internal assetInfos;
    mapping(uint256 => uint256) internal quanta;
    mapping(uint256 => bool) public isAssetRegistered;
    mapping(uint256 => address) internal ethKeys;
    mapping(uint256 => mapping(uint256 => mapping(uint256 => uint256))) internal pendingDeposits;
    mapping(uint256 => mapping(uint256 => mapping(uint256 => uint256))) internal cancellationRequests;
    mapping(uint256 => mapping(uint256 => uint256)) internal pendingWithdrawals;
    mapping(uint256 => mapping(uint256 => uint256)) internal fullWithdrawalRequests;
    mapping(uint256 => bool) public escapesUsed;
    bool internal stateFrozen;
    uint256 public unFreezeTime;
    uint256 internal vaultRoot;
    uint256 internal sequenceNumber;
    uint256 internal lastBatchId;

    event LogTokenRegistered(uint256 assetType, bytes assetInfo, uint256 quantum);
    event LogUserRegistered(address ethKey, uint256 starkKey, address sender);
    event LogDeposit(
        address depositorEthKey,
        uint256 starkKey,
        uint256 vaultId,
        uint256 assetType,
        uint256 nonQuantizedAmount,
        uint256 quantizedAmount
    );
    event LogNftDeposit(
        address depositorEthKey, uint256 starkKey, uint256 vaultId, uint256 assetType, uint256 tokenId, uint256 assetId
    );
    event LogDepositCancel(uint256 starkKey, uint256 vaultId, uint256 assetId);
    event LogDepositCancelReclaimed(
        uint256 starkKey, uint256 vaultId, uint256 assetType, uint256 nonQuantizedAmount, uint256 quantizedAmount
    );
    event LogDepositNftCancelReclaimed(
        uint256 starkKey, uint256 vaultId, uint256 assetType, uint256 tokenId, uint256 assetId
    );
    event LogWithdrawalAllowed(uint256 ownerKey, uint256 assetType, uint256 nonQuantizedAmount, uint256 quantizedAmount);
    event LogNftWithdrawalAllowed(uint256 ownerKey, uint256 assetId);
    event LogMintableWithdrawalAllowed(uint256 ownerKey, uint256 assetId, uint256 quantizedAmount);
    event LogWithdrawalPerformed(
        uint256 ownerKey, uint256 assetType, uint256 nonQuantizedAmount, uint256 quantizedAmount, address recipient
    );
    event LogNftWithdrawalPerformed(
        uint256 ownerKey, uint256 assetType, uint256 tokenId, uint256 assetId, address recipient
    );
    event LogMintWithdrawalPerformed(
        uint256 ownerKey, uint256 assetType, uint256 nonQuantizedAmount, uint256 quantizedAmount, uint256 assetId
    );
    event LogFullWithdrawalRequest(uint256 starkKey, uint256 vaultId);
    event LogFrozen();
    event LogRootUpdate(uint256 sequenceNumber, uint256 batchId, uint256 vaultRoot, uint256 orderRoot);

    /// `initialVaultRoot` is the root of the empty height-31 vault tree (or a genesis state's).
    constructor(address operator_, address tokensAdmin_, uint256 initialVaultRoot) {
        operator = operator_;
        tokensAdmin = tokensAdmin_;
        vaultRoot = initialVaultRoot;
    }

    // ---- token registry ----

    function registerToken(uint256 assetType, bytes calldata assetInfo) external {
        _registerToken(assetType, assetInfo, 1);
    }

    function registerToken(uint256 assetType, bytes calldata assetInfo, uint256 quantum) external {
        _registerToken(assetType, assetInfo, quantum);
    }

    function _registerToken(uint256 assetType, bytes calldata assetInfo, uint256 quantum) internal {
        require(msg.sender == tokensAdmin, "ONLY_TOKENS_ADMIN");
        require(!isAssetRegistered[assetType], "ASSET_ALREADY_REGISTERED");
        require(quantum > 0, "INVALID_QUANTUM");
        require(quantum < (1 << 128), "INVALID_QUANTUM");
        uint256 enforced = uint256(keccak256(abi.encodePacked(assetInfo, quantum))) & MASK_250;
        require(assetType == enforced, "INVALID_ASSET_TYPE");
        bytes4 sel = selectorOf(assetInfo);
        require(
            sel == ETH_SELECTOR || sel == ERC20_SELECTOR || sel == ERC721_SELECTOR || sel == MINTABLE_ERC20_SELECTOR
                || sel == MINTABLE_ERC721_SELECTOR,
            "UNSUPPORTED_TOKEN_TYPE"
        );
        if (sel == ETH_SELECTOR) {
            require(assetInfo.length == 4, "INVALID_ASSET_STRING");
        } else {
            require(assetInfo.length == 36, "INVALID_ASSET_STRING");
            require(tokenOf(assetInfo).code.length > 0, "BAD_TOKEN_ADDRESS");
        }
        if (sel == ERC721_SELECTOR || sel == MINTABLE_ERC721_SELECTOR) {
            require(quantum == 1, "INVALID_NFT_QUANTUM");
        }
        isAssetRegistered[assetType] = true;
        assetInfos[assetType] = assetInfo;
        quanta[assetType] = quantum;
        emit LogTokenRegistered(assetType, assetInfo, quantum);
    }

    function selectorOf(bytes memory info) internal pure returns (bytes4 s) {
        if (info.length < 4) return bytes4(0);
        assembly {
            s := mload(add(info, 32))
        }
    }

    function tokenOf(bytes memory info) internal pure returns (address t) {
        if (info.length != 36) return address(0);
        uint256 w;
        assembly {
            w := mload(add(info, 36))
        }
        t = address(uint160(w));
    }

    function getAssetInfo(uint256 assetType) public view returns (bytes memory) {
        require(isAssetRegistered[assetType], "ASSET_TYPE_NOT_REGISTERED");
        return assetInfos[assetType];
    }

    function getQuantum(uint256 presumedAssetType) public view returns (uint256) {
        return isAssetRegistered[presumedAssetType] ? quanta[presumedAssetType] : 1;
    }

    function isFungible(bytes4 s) internal pure returns (bool) {
        return s == ETH_SELECTOR || s == ERC20_SELECTOR || s == MINTABLE_ERC20_SELECTOR;
    }

    function isMintable(bytes4 s) internal pure returns (bool) {
        return s == MINTABLE_ERC20_SELECTOR || s == MINTABLE_ERC721_SELECTOR;
    }

    function nftAssetId(uint256 assetType, uint256 tokenId) public pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked("NFT:", assetType, tokenId))) & MASK_250;
    }

    // ---- users ----

    function getEthKey(uint256 ownerKey) public view returns (address) {
        address a = ethKeys[ownerKey];
        if (a != address(0)) return a;
        return ownerKey < (1 << 160) ? address(uint160(ownerKey)) : address(0);
    }

    function strictGetEthKey(uint256 ownerKey) internal view returns (address a) {
        a = getEthKey(ownerKey);
        require(a != address(0), "USER_UNREGISTERED");
    }

    function onlyKeyOwner(uint256 ownerKey) internal view {
        require(msg.sender == strictGetEthKey(ownerKey), "MISMATCHING_STARK_ETH_KEYS");
    }

    function registerSender(uint256 starkKey, bytes calldata starkSignature) external {
        _register(msg.sender, starkKey, starkSignature);
    }

    function registerEthAddress(address ethKey, uint256 starkKey, bytes calldata starkSignature) external {
        _register(ethKey, starkKey, starkSignature);
    }

    /// v3 registration (ImmutableX's client uses it): `signature` is the user admin's (the
    /// operator's) secp256k1 ECDSA `r‖s‖v` over keccak256("UserRegistration:", ethKey, starkKey),
    /// as `POST /v1/signable-registration` answers it in `operator_signature`.
    function registerUser(address ethKey, uint256 starkKey, bytes calldata signature) public {
        checkNewKey(starkKey);
        require(signature.length == 65, "INVALID_SIGNATURE");
        bytes32 signed = keccak256(abi.encodePacked("UserRegistration:", ethKey, starkKey));
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        address signer = ecrecover(signed, v, r, s);
        require(signer != address(0) && signer == operator, "INVALID_SIGNATURE");
        ethKeys[starkKey] = ethKey;
        emit LogUserRegistered(ethKey, starkKey, msg.sender);
    }

    /// v3: registers (as [`registerUser`]) and deposits ether in one transaction.
    function registerAndDepositEth(
        address ethKey,
        uint256 starkKey,
        bytes calldata signature,
        uint256 assetType,
        uint256 vaultId
    ) external payable {
        registerUser(ethKey, starkKey, signature);
        deposit(starkKey, assetType, vaultId);
    }

    /// v3: registers (as [`registerUser`]) and deposits an ERC-20 in one transaction.
    function registerAndDepositERC20(
        address ethKey,
        uint256 starkKey,
        bytes calldata signature,
        uint256 assetType,
        uint256 vaultId,
        uint256 quantizedAmount
    ) external {
        registerUser(ethKey, starkKey, signature);
        _deposit(starkKey, assetType, vaultId, quantizedAmount);
    }

    function checkNewKey(uint256 starkKey) internal view {
        require(starkKey != 0, "INVALID_STARK_KEY");
        require(starkKey < K_MODULUS, "INVALID_STARK_KEY");
        require(ethKeys[starkKey] == address(0), "STARK_KEY_UNAVAILABLE");
        require(isOnCurveX(starkKey), "INVALID_STARK_KEY");
    }

    function _register(address ethKey, uint256 starkKey, bytes calldata sig) internal {
        checkNewKey(starkKey);
        require(sig.length == 96, "INVALID_STARK_SIGNATURE_LENGTH");
        (uint256 r, uint256 s, uint256 y) = abi.decode(sig, (uint256, uint256, uint256));
        uint256 msgHash =
            uint256(keccak256(abi.encodePacked("UserRegistration:", ethKey, starkKey))) % StarkCurve.N;
        require(s != 0 && s < StarkCurve.N, "s out of range");
        require(r != 0 && r < (1 << 251), "r out of range");
        require(StarkCurve.isOnCurve(starkKey, y), "INVALID_STARK_SIGNATURE");
        require(StarkCurve.verify(msgHash, r, s, starkKey, y), "INVALID_STARK_SIGNATURE");
        ethKeys[starkKey] = ethKey;
        emit LogUserRegistered(ethKey, starkKey, msg.sender);
    }

    /// Whether x is the x coordinate of a curve point (x^3 + x + beta is a square mod p).
    function isOnCurveX(uint256 x) internal pure returns (bool) {
        uint256 p = StarkCurve.P;
        uint256 rhs = addmod(addmod(mulmod(mulmod(x, x, p), x, p), x, p), StarkCurve.BETA, p);
        return rhs == 0 || StarkCurve.expmod(rhs, (p - 1) / 2, p) == 1;
    }

    // ---- deposits ----

    function notFrozen() internal view {
        require(!stateFrozen, "STATE_IS_FROZEN");
    }

    function checkKeyAndVault(uint256 starkKey, uint256 vaultId) internal pure {
        require(starkKey != 0 && starkKey < K_MODULUS, "INVALID_STARK_KEY");
        require(vaultId < VAULT_ID_BOUND, "OUT_OF_RANGE_VAULT_ID");
    }

    function deposit(uint256 starkKey, uint256 assetType, uint256 vaultId) public payable {
        bytes4 sel = selectorOf(getAssetInfo(assetType));
        require(sel == ETH_SELECTOR, "INVALID_ASSET_TYPE");
        uint256 quantum = quanta[assetType];
        require(msg.value % quantum == 0, "INVALID_AMOUNT");
        uint256 q = msg.value / quantum;
        require(q <= MAX_QUANTIZED, "DEPOSIT_OVERFLOW");
        _deposit(starkKey, assetType, vaultId, q);
    }

    function depositEth(uint256 starkKey, uint256 assetType, uint256 vaultId) external payable {
        deposit(starkKey, assetType, vaultId);
    }

    function deposit(uint256 starkKey, uint256 assetType, uint256 vaultId, uint256 quantizedAmount) public {
        _deposit(starkKey, assetType, vaultId, quantizedAmount);
    }

    function depositERC20(uint256 starkKey, uint256 assetType, uint256 vaultId, uint256 quantizedAmount) external {
        _deposit(starkKey, assetType, vaultId, quantizedAmount);
    }

    function _deposit(uint256 starkKey, uint256 assetType, uint256 vaultId, uint256 quantized) internal {
        notFrozen();
        bytes memory info = getAssetInfo(assetType);
        bytes4 sel = selectorOf(info);
        require(!isMintable(sel), "MINTABLE_ASSET_TYPE");
        require(isFungible(sel), "NON_FUNGIBLE_ASSET_TYPE");
        checkKeyAndVault(starkKey, vaultId);
        uint256 assetId = assetType;
        uint256 pending = pendingDeposits[starkKey][assetId][vaultId];
        require(quantized <= MAX_QUANTIZED && pending + quantized <= MAX_QUANTIZED, "DEPOSIT_OVERFLOW");
        pendingDeposits[starkKey][assetId][vaultId] = pending + quantized;
        if (getEthKey(starkKey) == msg.sender) delete cancellationRequests[starkKey][assetId][vaultId];
        uint256 amount = quantized * quanta[assetType];
        if (sel == ERC20_SELECTOR) {
            IERC20Min(tokenOf(info)).transferFrom(msg.sender, address(this), amount);
        } else if (sel == ETH_SELECTOR) {
            require(msg.value == amount, "INCORRECT_DEPOSIT_AMOUNT");
        } else {
            revert("UNSUPPORTED_TOKEN_TYPE");
        }
        emit LogDeposit(msg.sender, starkKey, vaultId, assetType, amount, quantized);
    }

    function depositNft(uint256 starkKey, uint256 assetType, uint256 vaultId, uint256 tokenId) external {
        notFrozen();
        bytes memory info = getAssetInfo(assetType);
        bytes4 sel = selectorOf(info);
        require(!isMintable(sel), "MINTABLE_ASSET_TYPE");
        require(!isFungible(sel), "FUNGIBLE_ASSET_TYPE");
        checkKeyAndVault(starkKey, vaultId);
        uint256 assetId = nftAssetId(assetType, tokenId);
        pendingDeposits[starkKey][assetId][vaultId] = 1;
        if (getEthKey(starkKey) == msg.sender) delete cancellationRequests[starkKey][assetId][vaultId];
        require(sel == ERC721_SELECTOR, "NOT_ERC721_TOKEN");
        IERC721Min(tokenOf(info)).transferFrom(msg.sender, address(this), tokenId);
        emit LogNftDeposit(msg.sender, starkKey, vaultId, assetType, tokenId, assetId);
    }

    function getDepositBalance(uint256 starkKey, uint256 assetId, uint256 vaultId) external view returns (uint256) {
        return pendingDeposits[starkKey][assetId][vaultId] * getQuantum(assetId);
    }

    function getQuantizedDepositBalance(uint256 starkKey, uint256 assetId, uint256 vaultId)
        external
        view
        returns (uint256)
    {
        return pendingDeposits[starkKey][assetId][vaultId];
    }

    function getCancellationRequest(uint256 starkKey, uint256 assetId, uint256 vaultId)
        external
        view
        returns (uint256)
    {
        return cancellationRequests[starkKey][assetId][vaultId];
    }

    function depositCancel(uint256 starkKey, uint256 assetId, uint256 vaultId) external {
        onlyKeyOwner(starkKey);
        cancellationRequests[starkKey][assetId][vaultId] = block.timestamp;
        emit LogDepositCancel(starkKey, vaultId, assetId);
    }

    function takeCancelledDeposit(uint256 starkKey, uint256 assetId, uint256 vaultId) internal returns (uint256 q) {
        onlyKeyOwner(starkKey);
        uint256 requestTime = cancellationRequests[starkKey][assetId][vaultId];
        require(requestTime != 0, "DEPOSIT_NOT_CANCELED");
        require(block.timestamp >= requestTime + DEPOSIT_CANCEL_DELAY, "DEPOSIT_LOCKED");
        q = pendingDeposits[starkKey][assetId][vaultId];
        delete pendingDeposits[starkKey][assetId][vaultId];
        delete cancellationRequests[starkKey][assetId][vaultId];
    }

    function depositReclaim(uint256 starkKey, uint256 assetType, uint256 vaultId) external {
        uint256 q = takeCancelledDeposit(starkKey, assetType, vaultId);
        uint256 amount = transferOut(msg.sender, assetType, q);
        emit LogDepositCancelReclaimed(starkKey, vaultId, assetType, amount, q);
    }

    function depositNftReclaim(uint256 starkKey, uint256 assetType, uint256 vaultId, uint256 tokenId) external {
        uint256 assetId = nftAssetId(assetType, tokenId);
        uint256 q = takeCancelledDeposit(starkKey, assetId, vaultId);
        if (q > 0) {
            transferOutNft(msg.sender, assetType, tokenId);
            emit LogDepositNftCancelReclaimed(starkKey, vaultId, assetType, tokenId, assetId);
        }
    }

    // ---- withdrawals ----

    function transferOut(address recipient, uint256 assetType, uint256 quantized) internal returns (uint256 amount) {
        amount = quantized * getQuantum(assetType);
        bytes memory info = getAssetInfo(assetType);
        bytes4 sel = selectorOf(info);
        if (sel == ERC20_SELECTOR) {
            IERC20Min(tokenOf(info)).transfer(recipient, amount);
        } else if (sel == ETH_SELECTOR) {
            (bool ok,) = recipient.call{value: amount}("");
            require(ok, "ETH_TRANSFER_FAILED");
        } else {
            revert("UNSUPPORTED_TOKEN_TYPE");
        }
    }

    function transferOutNft(address recipient, uint256 assetType, uint256 tokenId) internal {
        bytes memory info = getAssetInfo(assetType);
        require(selectorOf(info) == ERC721_SELECTOR, "NOT_ERC721_TOKEN");
        IERC721Min(tokenOf(info)).transferFrom(address(this), recipient, tokenId);
    }

    function getWithdrawalBalance(uint256 ownerKey, uint256 assetId) external view returns (uint256) {
        return pendingWithdrawals[ownerKey][assetId] * getQuantum(assetId);
    }

    function withdraw(uint256 ownerKey, uint256 assetType) external {
        address recipient = strictGetEthKey(ownerKey);
        bytes4 sel = selectorOf(getAssetInfo(assetType));
        require(!isMintable(sel), "MINTABLE_ASSET_TYPE");
        require(isFungible(sel), "NON_FUNGIBLE_ASSET_TYPE");
        uint256 q = pendingWithdrawals[ownerKey][assetType];
        delete pendingWithdrawals[ownerKey][assetType];
        uint256 amount = transferOut(recipient, assetType, q);
        emit LogWithdrawalPerformed(ownerKey, assetType, amount, q, recipient);
    }

    function withdrawNft(uint256 ownerKey, uint256 assetType, uint256 tokenId) external {
        address recipient = strictGetEthKey(ownerKey);
        uint256 assetId = nftAssetId(assetType, tokenId);
        bytes4 sel = selectorOf(getAssetInfo(assetType));
        require(!isMintable(sel), "MINTABLE_ASSET_TYPE");
        require(!isFungible(sel), "FUNGIBLE_ASSET_TYPE");
        require(pendingWithdrawals[ownerKey][assetId] == 1, "ILLEGAL_NFT_BALANCE");
        delete pendingWithdrawals[ownerKey][assetId];
        transferOutNft(recipient, assetType, tokenId);
        emit LogNftWithdrawalPerformed(ownerKey, assetType, tokenId, assetId, recipient);
    }

    /// The asset id of a token minted on the exchange: StarkEx's `calculateMintableAssetId`.
    function mintableAssetId(uint256 assetType, bytes memory mintingBlob) public pure returns (uint256) {
        uint256 h = uint256(keccak256(abi.encodePacked("MINTABLE:", assetType, keccak256(mintingBlob))));
        return (h & MASK_240) | MINTABLE_ASSET_ID_FLAG;
    }

    /// Withdraws a token minted on the exchange: mints it on L1 to the owner with the token's
    /// `mintFor(recipient, amount, mintingBlob)` (this contract is the token's minter).
    function withdrawAndMint(uint256 ownerKey, uint256 assetType, bytes calldata mintingBlob) external {
        address recipient = strictGetEthKey(ownerKey);
        require(isAssetRegistered[assetType], "INVALID_ASSET_TYPE");
        bytes memory info = assetInfos[assetType];
        bytes4 sel = selectorOf(info);
        require(isMintable(sel), "NON_MINTABLE_ASSET_TYPE");
        uint256 assetId = mintableAssetId(assetType, mintingBlob);
        uint256 q = pendingWithdrawals[ownerKey][assetId];
        require(q > 0, "NO_PENDING_WITHDRAWAL_BALANCE");
        delete pendingWithdrawals[ownerKey][assetId];
        uint256 amount = q * quanta[assetType];
        if (sel == MINTABLE_ERC721_SELECTOR) {
            require(amount == 1, "INVALID_NFT_AMOUNT");
        }
        IMintable(tokenOf(info)).mintFor(recipient, amount, mintingBlob);
        emit LogMintWithdrawalPerformed(ownerKey, assetType, amount, q, assetId);
    }

    function allowWithdrawal(uint256 ownerKey, uint256 assetId, uint256 quantized) internal {
        uint256 w = pendingWithdrawals[ownerKey][assetId] + quantized;
        require(quantized <= MAX_QUANTIZED && w <= MAX_QUANTIZED, "WITHDRAWAL_OVERFLOW");
        pendingWithdrawals[ownerKey][assetId] = w;
        if (isAssetRegistered[assetId]) {
            emit LogWithdrawalAllowed(ownerKey, assetId, quantized * quanta[assetId], quantized);
        } else if (assetId == ((assetId & MASK_240) | MINTABLE_ASSET_ID_FLAG)) {
            emit LogMintableWithdrawalAllowed(ownerKey, assetId, quantized);
        } else {
            require(assetId < (1 << 250), "INVALID_NFT_ASSET_ID");
            require(w <= 1, "INVALID_NFT_AMOUNT");
            emit LogNftWithdrawalAllowed(ownerKey, assetId);
        }
    }

    // ---- forced actions, freeze, escape ----

    function fullWithdrawalRequest(uint256 ownerKey, uint256 vaultId) external {
        notFrozen();
        onlyKeyOwner(ownerKey);
        require(vaultId < VAULT_ID_BOUND, "OUT_OF_RANGE_VAULT_ID");
        fullWithdrawalRequests[ownerKey][vaultId] = block.timestamp;
        emit LogFullWithdrawalRequest(ownerKey, vaultId);
    }

    function getFullWithdrawalRequest(uint256 ownerKey, uint256 vaultId) external view returns (uint256) {
        return fullWithdrawalRequests[ownerKey][vaultId];
    }

    function freezeRequest(uint256 ownerKey, uint256 vaultId) external {
        notFrozen();
        require(vaultId < VAULT_ID_BOUND, "OUT_OF_RANGE_VAULT_ID");
        uint256 requestTime = fullWithdrawalRequests[ownerKey][vaultId];
        require(requestTime != 0, "FORCED_ACTION_UNREQUESTED");
        uint256 freezeTime = requestTime + FREEZE_GRACE_PERIOD;
        require(block.timestamp >= freezeTime, "FORCED_ACTION_PENDING");
        require(freezeTime > unFreezeTime, "REFREEZE_ATTEMPT");
        unFreezeTime = block.timestamp + UNFREEZE_DELAY;
        stateFrozen = true;
        emit LogFrozen();
    }

    function isFrozen() external view returns (bool) {
        return stateFrozen;
    }

    function escape(uint256 starkKey, uint256 vaultId, uint256 assetId, uint256 quantizedAmount, uint256[] calldata proof)
        external
    {
        require(stateFrozen, "STATE_NOT_FROZEN");
        require(!escapesUsed[vaultId], "ESCAPE_ALREADY_USED");
        escapesUsed[vaultId] = true;
        require(starkKey < K_MODULUS && quantizedAmount <= MAX_QUANTIZED, "ESCAPE_LACKS_PROOF");
        require(proof.length == VAULT_TREE_HEIGHT && vaultId < VAULT_ID_BOUND, "ESCAPE_LACKS_PROOF");
        uint256 h = StarkCurve.pedersen(StarkCurve.pedersen(starkKey, assetId % K_MODULUS), quantizedAmount);
        for (uint256 level = 0; level < proof.length; level++) {
            h = ((vaultId >> level) & 1) == 1 ? StarkCurve.pedersen(proof[level], h) : StarkCurve.pedersen(h, proof[level]);
        }
        require(h == vaultRoot, "ESCAPE_LACKS_PROOF");
        allowWithdrawal(starkKey, assetId, quantizedAmount);
    }

    // ---- state ----

    function getVaultRoot() external view returns (uint256) {
        return vaultRoot;
    }

    function getVaultTreeHeight() external pure returns (uint256) {
        return VAULT_TREE_HEIGHT;
    }

    function getSequenceNumber() external view returns (uint256) {
        return sequenceNumber;
    }

    function getLastBatchId() external view returns (uint256) {
        return lastBatchId;
    }

    /// A proven batch's effects (operator only; stands in for StarkEx's verified state update).
    function updateState(
        uint256 newSequenceNumber,
        uint256 batchId,
        uint256 newVaultRoot,
        DepositConsumed[] calldata deposits,
        WithdrawalCredit[] calldata withdrawals,
        FullWithdrawalServed[] calldata served
    ) external {
        notFrozen();
        require(msg.sender == operator, "ONLY_OPERATOR");
        require(newSequenceNumber == sequenceNumber + 1, "INVALID_SEQUENCE_NUMBER");
        require(newVaultRoot < K_MODULUS, "New vault root >= PRIME.");
        for (uint256 i = 0; i < deposits.length; i++) {
            DepositConsumed calldata d = deposits[i];
            uint256 pending = pendingDeposits[d.starkKey][d.assetId][d.vaultId];
            require(pending >= d.quantizedAmount, "DEPOSIT_INSUFFICIENT");
            pendingDeposits[d.starkKey][d.assetId][d.vaultId] = pending - d.quantizedAmount;
        }
        for (uint256 i = 0; i < withdrawals.length; i++) {
            allowWithdrawal(withdrawals[i].ownerKey, withdrawals[i].assetId, withdrawals[i].quantizedAmount);
        }
        for (uint256 i = 0; i < served.length; i++) {
            delete fullWithdrawalRequests[served[i].starkKey][served[i].vaultId];
        }
        vaultRoot = newVaultRoot;
        sequenceNumber = newSequenceNumber;
        lastBatchId = batchId;
        emit LogRootUpdate(newSequenceNumber, batchId, newVaultRoot, 0);
    }
}
