// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// What the registration helper needs of the StarkEx core.
interface IStarkExV3 {
    function getEthKey(uint256 ownerKey) external view returns (address);
    function registerUser(address ethKey, uint256 starkKey, bytes calldata signature) external;
    function withdraw(uint256 ownerKey, uint256 assetType) external;
    function withdrawNft(uint256 ownerKey, uint256 assetType, uint256 tokenId) external;
    function withdrawAndMint(uint256 ownerKey, uint256 assetType, bytes calldata mintingBlob) external;
}

/// ImmutableX's registration helper (`Registration.sol` of imx-contracts, the
/// `registrationContractAddress` of the core-sdk client): whether a Stark key is registered on the
/// core, and registration followed by a withdrawal in one transaction for a user who was only
/// registered off-chain. The withdrawals pay the key's registered address, whoever sends them.
contract Registration {
    IStarkExV3 public immutable imx;

    constructor(IStarkExV3 imx_) {
        imx = imx_;
    }

    function isRegistered(uint256 starkKey) public view returns (bool) {
        return imx.getEthKey(starkKey) != address(0);
    }

    function registerAndWithdraw(address ethKey, uint256 starkKey, bytes calldata signature, uint256 assetType)
        external
    {
        imx.registerUser(ethKey, starkKey, signature);
        imx.withdraw(starkKey, assetType);
    }

    function registerAndWithdrawNft(
        address ethKey,
        uint256 starkKey,
        bytes calldata signature,
        uint256 assetType,
        uint256 tokenId
    ) external {
        imx.registerUser(ethKey, starkKey, signature);
        imx.withdrawNft(starkKey, assetType, tokenId);
    }

    /// Spelled as in ImmutableX's contract and client.
    function regsiterAndWithdrawAndMint(
        address ethKey,
        uint256 starkKey,
        bytes calldata signature,
        uint256 assetType,
        bytes calldata mintingBlob
    ) external {
        imx.registerUser(ethKey, starkKey, signature);
        imx.withdrawAndMint(starkKey, assetType, mintingBlob);
    }
}
