// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import "./interfaces.sol";

/// @title NftBridge
/// @notice A Starklane-style ERC-721 bridge (ArkProject `Bridge.sol`; PROTOCOL.md E) with the
/// sandbox's request payload and revert strings (see `crates/sandbox/src/l1/nft_bridge.rs`):
///   [header, hash.low, hash.high, collectionL1, collectionL2, ownerL1, ownerL2, n, ids (low, high)...]
/// Collections are registered pairs (Starklane's whitelist): an L1-native collection is escrowed
/// here; the L1 mirror of an L2-native one is minted on arrival and burnt on departure (this
/// bridge is its minter).
contract NftBridge {
    uint256 public constant HEADER_V1 = 0x01;
    uint256 public constant ERC721_TYPE = 0x01 << 8;
    uint256 public constant ERC1155_TYPE = 0x02 << 8;
    uint256 public constant DEPOSIT_AUTO_BURN = 0x01 << 16;
    uint256 public constant WITHDRAW_AUTO = 0x01 << 24;
    uint256 internal constant FIELD_PRIME = 0x800000000000011000000000000000000000000000000000000000000000001;

    struct Pair {
        uint256 l2;
        bool nativeL1;
        bool registered;
    }

    IStarknetMessaging public immutable messagingContract;
    uint256 public immutable l2Bridge;
    uint256 public immutable l2Selector;
    address public immutable admin;
    mapping(address => Pair) public pairs;

    event DepositRequestInitiated(uint256 indexed hash, uint256 timestamp, uint256[] reqContent);
    event WithdrawRequestCompleted(uint256 indexed hash, uint256 timestamp, uint256[] reqContent);
    event CollectionRegistered(address indexed collectionL1, uint256 collectionL2, bool nativeL1);

    /// `selector` is the L2 bridge's L1 handler (`withdraw_auto_from_l1`).
    constructor(address messaging, uint256 l2Bridge_, uint256 selector) {
        messagingContract = IStarknetMessaging(messaging);
        l2Bridge = l2Bridge_;
        l2Selector = selector;
        admin = msg.sender;
    }

    function registerCollection(address collectionL1, uint256 collectionL2, bool nativeL1) external {
        require(msg.sender == admin, "ONLY_ADMIN");
        pairs[collectionL1] = Pair(collectionL2, nativeL1, true);
        emit CollectionRegistered(collectionL1, collectionL2, nativeL1);
    }

    function requestHash(uint256 salt, uint256 collection, uint256 to, uint256[] memory ids)
        public
        pure
        returns (uint256)
    {
        return uint256(keccak256(abi.encodePacked(salt, collection, to, ids)));
    }

    function depositTokens(uint256 salt, address collectionL1, uint256 ownerL2, uint256[] calldata ids, bool useAutoBurn)
        external
        payable
    {
        require(ownerL2 < FIELD_PRIME, "CairoWrapError");
        Pair memory pair = pairs[collectionL1];
        require(pair.registered, "NotWhiteListedError");
        require(ids.length > 0, "BadRequestError");
        for (uint256 i = 0; i < ids.length; i++) {
            if (pair.nativeL1) {
                IERC721Min(collectionL1).transferFrom(msg.sender, address(this), ids[i]);
            } else {
                IERC721Min(collectionL1).burn(msg.sender, ids[i]);
            }
        }
        uint256 header = HEADER_V1 | ERC721_TYPE;
        if (useAutoBurn) header |= DEPOSIT_AUTO_BURN;
        uint256 hash = requestHash(salt, uint256(uint160(collectionL1)), ownerL2, ids);
        uint256[] memory p = new uint256[](8 + 2 * ids.length);
        p[0] = header;
        p[1] = hash & type(uint128).max;
        p[2] = hash >> 128;
        p[3] = uint256(uint160(collectionL1));
        p[4] = pair.l2;
        p[5] = uint256(uint160(msg.sender));
        p[6] = ownerL2;
        p[7] = ids.length;
        for (uint256 i = 0; i < ids.length; i++) {
            p[8 + 2 * i] = ids[i] & type(uint128).max;
            p[9 + 2 * i] = ids[i] >> 128;
        }
        messagingContract.sendMessageToL2{value: msg.value}(l2Bridge, l2Selector, p);
        emit DepositRequestInitiated(hash, block.timestamp, p);
    }

    function withdrawTokens(uint256[] calldata request) external payable {
        require(request.length >= 8, "BadRequestError");
        uint256 header = request[0];
        require(header < (1 << 64), "BadRequestError");
        require(header & 0xff == HEADER_V1, "BadRequestError");
        require(header & (0xff << 8) != ERC1155_TYPE, "NotSupportedYetError");
        require(header & (0xff << 8) == ERC721_TYPE, "BadRequestError");
        require(request[1] < (1 << 128) && request[2] < (1 << 128), "BadRequestError");
        require(request[3] < (1 << 160) && request[5] < (1 << 160), "BadRequestError");
        uint256 n = request[7];
        require(n <= request.length && request.length == 8 + 2 * n, "BadRequestError");
        for (uint256 i = 0; i < n; i++) {
            require(request[8 + 2 * i] < (1 << 128) && request[9 + 2 * i] < (1 << 128), "BadRequestError");
        }
        messagingContract.consumeMessageFromL2(l2Bridge, request);
        address collectionL1 = address(uint160(request[3]));
        address ownerL1 = address(uint160(request[5]));
        Pair memory pair = pairs[collectionL1];
        require(pair.registered, "NotWhiteListedError");
        for (uint256 i = 0; i < n; i++) {
            uint256 id = request[8 + 2 * i] | (request[9 + 2 * i] << 128);
            if (pair.nativeL1) {
                IERC721Min(collectionL1).transferFrom(address(this), ownerL1, id);
            } else {
                IERC721Min(collectionL1).mint(ownerL1, id);
            }
        }
        emit WithdrawRequestCompleted(request[1] | (request[2] << 128), block.timestamp, request);
    }
}
