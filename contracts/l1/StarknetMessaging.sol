// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title StarknetMessaging
/// @notice The messaging part of the Starknet core contract (cairo-lang `StarknetMessaging.sol`;
/// PROTOCOL.md D.2) with the real message hashes, plus the two calls of devnet's
/// `MockStarknetMessaging` that stand in for the Starknet state update: `mockSendMessageFromL2`
/// (an L2→L1 message becomes consumable) and `mockConsumeMessageToL2` (an L1→L2 message was
/// handled). Unlike the mock, they are restricted to the operator (the deployer; devnet's
/// postman deploys with the same anvil key), as the sandbox restricts its state update.
contract StarknetMessaging {
    uint256 public constant MAX_L1_MSG_FEE = 1 ether;

    address public immutable operator;
    uint256 public immutable messageCancellationDelay;
    uint256 public l1ToL2MessageNonce;
    mapping(bytes32 => uint256) public l1ToL2Messages;
    mapping(bytes32 => uint256) public l2ToL1Messages;
    mapping(bytes32 => uint256) public l1ToL2MessageCancellations;

    event LogMessageToL1(uint256 indexed fromAddress, address indexed toAddress, uint256[] payload);
    event LogMessageToL2(
        address indexed fromAddress,
        uint256 indexed toAddress,
        uint256 indexed selector,
        uint256[] payload,
        uint256 nonce,
        uint256 fee
    );
    event ConsumedMessageToL1(uint256 indexed fromAddress, address indexed toAddress, uint256[] payload);
    event ConsumedMessageToL2(
        address indexed fromAddress,
        uint256 indexed toAddress,
        uint256 indexed selector,
        uint256[] payload,
        uint256 nonce,
        uint256 fee
    );
    event MessageToL2CancellationStarted(
        address indexed fromAddress, uint256 indexed toAddress, uint256 indexed selector, uint256[] payload, uint256 nonce
    );
    event MessageToL2Canceled(
        address indexed fromAddress, uint256 indexed toAddress, uint256 indexed selector, uint256[] payload, uint256 nonce
    );

    constructor(uint256 messageCancellationDelay_) {
        operator = msg.sender;
        messageCancellationDelay = messageCancellationDelay_;
    }

    function l1ToL2Hash(address from, uint256 toAddress, uint256 nonce, uint256 selector, uint256[] calldata payload)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(uint256(uint160(from)), toAddress, nonce, selector, payload.length, payload));
    }

    function l2ToL1Hash(uint256 fromAddress, address toAddress, uint256[] calldata payload) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(fromAddress, uint256(uint160(toAddress)), payload.length, payload));
    }

    function sendMessageToL2(uint256 toAddress, uint256 selector, uint256[] calldata payload)
        external
        payable
        returns (bytes32, uint256)
    {
        require(msg.value > 0, "L1_MSG_FEE_MUST_BE_GREATER_THAN_0");
        require(msg.value <= MAX_L1_MSG_FEE, "MAX_L1_MSG_FEE_EXCEEDED");
        uint256 nonce = l1ToL2MessageNonce;
        l1ToL2MessageNonce = nonce + 1;
        emit LogMessageToL2(msg.sender, toAddress, selector, payload, nonce, msg.value);
        bytes32 h = l1ToL2Hash(msg.sender, toAddress, nonce, selector, payload);
        l1ToL2Messages[h] = msg.value + 1;
        return (h, nonce);
    }

    function consumeMessageFromL2(uint256 fromAddress, uint256[] calldata payload) external returns (bytes32) {
        bytes32 h = l2ToL1Hash(fromAddress, msg.sender, payload);
        require(l2ToL1Messages[h] > 0, "INVALID_MESSAGE_TO_CONSUME");
        emit ConsumedMessageToL1(fromAddress, msg.sender, payload);
        l2ToL1Messages[h] -= 1;
        return h;
    }

    function startL1ToL2MessageCancellation(
        uint256 toAddress,
        uint256 selector,
        uint256[] calldata payload,
        uint256 nonce
    ) external returns (bytes32) {
        bytes32 h = l1ToL2Hash(msg.sender, toAddress, nonce, selector, payload);
        emit MessageToL2CancellationStarted(msg.sender, toAddress, selector, payload, nonce);
        require(l1ToL2Messages[h] > 0, "NO_MESSAGE_TO_CANCEL");
        l1ToL2MessageCancellations[h] = block.timestamp;
        return h;
    }

    function cancelL1ToL2Message(uint256 toAddress, uint256 selector, uint256[] calldata payload, uint256 nonce)
        external
        returns (bytes32)
    {
        bytes32 h = l1ToL2Hash(msg.sender, toAddress, nonce, selector, payload);
        emit MessageToL2Canceled(msg.sender, toAddress, selector, payload, nonce);
        require(l1ToL2Messages[h] != 0, "NO_MESSAGE_TO_CANCEL");
        uint256 requestTime = l1ToL2MessageCancellations[h];
        require(requestTime != 0, "MESSAGE_CANCELLATION_NOT_REQUESTED");
        require(block.timestamp >= requestTime + messageCancellationDelay, "MESSAGE_CANCELLATION_NOT_ALLOWED_YET");
        l1ToL2Messages[h] = 0;
        return h;
    }

    /// The state update's L2→L1 half: the message from `fromAddress` to `toAddress` becomes
    /// consumable (devnet's postman calls this on flush).
    function mockSendMessageFromL2(uint256 fromAddress, uint256 toAddress, uint256[] calldata payload) external {
        require(msg.sender == operator, "ONLY_OPERATOR");
        require(toAddress < (1 << 160), "INVALID_L1_ADDRESS");
        bytes32 h = l2ToL1Hash(fromAddress, address(uint160(toAddress)), payload);
        l2ToL1Messages[h] += 1;
        emit LogMessageToL1(fromAddress, address(uint160(toAddress)), payload);
    }

    /// The state update's L1→L2 half: the message was handled on L2.
    function mockConsumeMessageToL2(
        uint256 fromAddress,
        uint256 toAddress,
        uint256 selector,
        uint256[] calldata payload,
        uint256 nonce
    ) external {
        require(msg.sender == operator, "ONLY_OPERATOR");
        require(fromAddress < (1 << 160), "INVALID_L1_ADDRESS");
        bytes32 h = l1ToL2Hash(address(uint160(fromAddress)), toAddress, nonce, selector, payload);
        uint256 feePlusOne = l1ToL2Messages[h];
        require(feePlusOne > 0, "INVALID_MESSAGE_TO_CONSUME");
        l1ToL2Messages[h] = 0;
        emit ConsumedMessageToL2(address(uint160(fromAddress)), toAddress, selector, payload, nonce, feePlusOne - 1);
    }
}
