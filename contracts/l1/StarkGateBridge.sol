// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import "./interfaces.sol";

/// @title StarkGateBridge
/// @notice A StarkGate 2.0 multi-token L1 bridge (`StarknetTokenBridge.sol`, `Fees.sol`;
/// PROTOCOL.md D.3) where ether is the token `address(0x455448)`, with the rules and revert
/// strings of the sandbox's bridge. It talks to the messaging contract it is given (ours, or
/// devnet's `MockStarknetMessaging`). Tokens are enrolled by the governor instead of through
/// enrollment messages; withdrawal limits are not modelled.
contract StarkGateBridge {
    address public constant ETH = address(0x455448);
    uint256 public constant HANDLE_TOKEN_DEPOSIT_SELECTOR =
        0x1b64b1b3b690b43b9b514fb81377518f4039cd3e4f4914d8a6bdf01d679fb19;
    uint256 public constant TRANSFER_FROM_STARKNET = 0;
    uint256 public constant MAX_FEE = 1e16;
    uint256 public constant DEPOSIT_FEE_GAS = 20000;
    uint256 public constant DEFAULT_WEI_PER_GAS = 5 * 10 ** 9;
    uint256 internal constant FIELD_PRIME = 0x800000000000011000000000000000000000000000000000000000000000001;

    IStarknetMessaging public immutable messagingContract;
    uint256 public immutable l2TokenBridge;
    address public immutable governor;
    mapping(address => bool) public isServicingToken;

    event Deposit(
        address indexed sender, address indexed token, uint256 amount, uint256 indexed l2Recipient, uint256 nonce, uint256 fee
    );
    event Withdrawal(address indexed recipient, address indexed token, uint256 amount);
    event DepositCancelRequest(
        address indexed sender, address indexed token, uint256 amount, uint256 indexed l2Recipient, uint256 nonce
    );
    event DepositReclaimed(
        address indexed sender, address indexed token, uint256 amount, uint256 indexed l2Recipient, uint256 nonce
    );
    event TokenEnrolled(address indexed token);

    constructor(address messaging, uint256 l2Bridge) {
        messagingContract = IStarknetMessaging(messaging);
        l2TokenBridge = l2Bridge;
        governor = msg.sender;
    }

    function enrollToken(address token) external {
        require(msg.sender == governor, "ONLY_GOVERNOR");
        isServicingToken[token] = true;
        emit TokenEnrolled(token);
    }

    function estimateDepositFeeWei() public pure returns (uint256) {
        return DEPOSIT_FEE_GAS * DEFAULT_WEI_PER_GAS;
    }

    function minFee() public view returns (uint256) {
        return block.chainid == 1 ? 1e12 : 1;
    }

    function checkFee(uint256 fee) private view {
        require(fee >= minFee(), "INSUFFICIENT_FEE_VALUE");
        require(fee <= MAX_FEE, "FEE_VALUE_TOO_HIGH");
    }

    function depositPayload(address token, address sender, uint256 l2Recipient, uint256 amount)
        private
        pure
        returns (uint256[] memory p)
    {
        p = new uint256[](5);
        p[0] = uint256(uint160(token));
        p[1] = uint256(uint160(sender));
        p[2] = l2Recipient;
        p[3] = amount & type(uint128).max;
        p[4] = amount >> 128;
    }

    function checkL2Address(uint256 a) private pure {
        require(a != 0 && a < FIELD_PRIME, "L2_ADDRESS_OUT_OF_RANGE");
    }

    function deposit(address token, uint256 amount, uint256 l2Recipient) external payable returns (uint256) {
        require(isServicingToken[token], "TOKEN_NOT_SERVICED");
        uint256 fee;
        if (token == ETH) {
            require(msg.value >= amount, "INSUFFICIENT_VALUE");
            fee = msg.value - amount;
            checkFee(fee);
        } else {
            checkFee(msg.value);
            fee = msg.value;
            IERC20Min(token).transferFrom(msg.sender, address(this), amount);
        }
        require(amount > 0, "ZERO_DEPOSIT");
        checkL2Address(l2Recipient);
        (, uint256 nonce) = messagingContract.sendMessageToL2{value: fee}(
            l2TokenBridge, HANDLE_TOKEN_DEPOSIT_SELECTOR, depositPayload(token, msg.sender, l2Recipient, amount)
        );
        emit Deposit(msg.sender, token, amount, l2Recipient, nonce, fee);
        return nonce;
    }

    function payOut(address token, address to, uint256 amount) private {
        if (token == ETH) {
            (bool ok,) = to.call{value: amount}("");
            require(ok, "ETH_TRANSFER_FAILED");
        } else {
            IERC20Min(token).transfer(to, amount);
        }
    }

    function withdraw(address token, uint256 amount, address recipient) public {
        uint256[] memory p = new uint256[](5);
        p[0] = TRANSFER_FROM_STARKNET;
        p[1] = uint256(uint160(recipient));
        p[2] = uint256(uint160(token));
        p[3] = amount & type(uint128).max;
        p[4] = amount >> 128;
        messagingContract.consumeMessageFromL2(l2TokenBridge, p);
        payOut(token, recipient, amount);
        emit Withdrawal(recipient, token, amount);
    }

    function withdraw(address token, uint256 amount) external {
        withdraw(token, amount, msg.sender);
    }

    function depositCancelRequest(address token, uint256 amount, uint256 l2Recipient, uint256 nonce) external {
        checkL2Address(l2Recipient);
        messagingContract.startL1ToL2MessageCancellation(
            l2TokenBridge, HANDLE_TOKEN_DEPOSIT_SELECTOR, depositPayload(token, msg.sender, l2Recipient, amount), nonce
        );
        emit DepositCancelRequest(msg.sender, token, amount, l2Recipient, nonce);
    }

    function depositReclaim(address token, uint256 amount, uint256 l2Recipient, uint256 nonce) external {
        checkL2Address(l2Recipient);
        messagingContract.cancelL1ToL2Message(
            l2TokenBridge, HANDLE_TOKEN_DEPOSIT_SELECTOR, depositPayload(token, msg.sender, l2Recipient, amount), nonce
        );
        payOut(token, msg.sender, amount);
        emit DepositReclaimed(msg.sender, token, amount, l2Recipient, nonce);
    }
}
