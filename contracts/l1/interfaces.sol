// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

interface IStarknetMessaging {
    function sendMessageToL2(uint256 toAddress, uint256 selector, uint256[] calldata payload)
        external
        payable
        returns (bytes32, uint256);
    function consumeMessageFromL2(uint256 fromAddress, uint256[] calldata payload) external returns (bytes32);
    function startL1ToL2MessageCancellation(uint256 toAddress, uint256 selector, uint256[] calldata payload, uint256 nonce)
        external
        returns (bytes32);
    function cancelL1ToL2Message(uint256 toAddress, uint256 selector, uint256[] calldata payload, uint256 nonce)
        external
        returns (bytes32);
}

interface IERC20Min {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

interface IERC721Min {
    function transferFrom(address from, address to, uint256 tokenId) external;
    function mint(address to, uint256 tokenId) external;
    function burn(address owner, uint256 tokenId) external;
}

/// ImmutableX's `IMintable`: the StarkEx core mints a token minted on the exchange when it is
/// withdrawn to L1 (`withdrawAndMint`).
interface IMintable {
    function mintFor(address to, uint256 quantity, bytes calldata mintingBlob) external;
}
