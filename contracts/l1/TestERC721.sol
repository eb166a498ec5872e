// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title TestERC721
/// @notice A plain ERC-721 for local deployments, with the revert strings of the sandbox's
/// ledger (OpenZeppelin 4's wording). The minter mints and burns (an NFT bridge is the minter
/// of the L1 mirror of an L2-native collection).
contract TestERC721 {
    string public name;
    string public symbol;
    address public immutable minter;
    mapping(uint256 => address) private owners;
    mapping(address => uint256) public balanceOf;
    mapping(uint256 => address) public getApproved;
    mapping(address => mapping(address => bool)) public isApprovedForAll;

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);

    constructor(string memory name_, string memory symbol_, address minter_) {
        name = name_;
        symbol = symbol_;
        minter = minter_ == address(0) ? msg.sender : minter_;
    }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x01ffc9a7 || id == 0x80ac58cd;
    }

    function ownerOf(uint256 tokenId) public view returns (address owner) {
        owner = owners[tokenId];
        require(owner != address(0), "ERC721: invalid token ID");
    }

    function mint(address to, uint256 tokenId) public {
        require(msg.sender == minter, "ONLY_MINTER");
        require(owners[tokenId] == address(0), "ERC721: token already minted");
        owners[tokenId] = to;
        balanceOf[to] += 1;
        emit Transfer(address(0), to, tokenId);
    }

    /// ImmutableX's `mintFor`: the minter (the StarkEx core, on `withdrawAndMint`) mints the
    /// token whose id the blob `{tokenId}:{blueprint}` carries.
    function mintFor(address to, uint256 quantity, bytes calldata mintingBlob) external {
        require(quantity == 1, "Amount must be 1");
        mint(to, tokenIdOfBlob(mintingBlob));
    }

    /// The token id of a minting blob `{id}:{blueprint}` (decimal id, both parts in braces).
    function tokenIdOfBlob(bytes calldata blob) public pure returns (uint256 id) {
        uint256 sep = blob.length;
        for (uint256 i = 0; i < blob.length; i++) {
            if (blob[i] == ":") {
                sep = i;
                break;
            }
        }
        require(sep < blob.length, "Separator must exist");
        require(sep >= 3 && blob[0] == "{" && blob[sep - 1] == "}", "INVALID_MINTING_BLOB");
        require(blob.length >= sep + 3 && blob[sep + 1] == "{" && blob[blob.length - 1] == "}", "INVALID_MINTING_BLOB");
        for (uint256 i = 1; i < sep - 1; i++) {
            uint8 c = uint8(blob[i]);
            require(c >= 48 && c <= 57, "INVALID_MINTING_BLOB");
            id = id * 10 + (c - 48);
        }
    }

    /// Burns `owner`'s token (the minter only, e.g. a bridge taking a mirror token back).
    function burn(address owner, uint256 tokenId) external {
        require(msg.sender == minter, "ONLY_MINTER");
        require(ownerOf(tokenId) == owner, "ERC721: caller is not token owner or approved");
        delete owners[tokenId];
        delete getApproved[tokenId];
        balanceOf[owner] -= 1;
        emit Transfer(owner, address(0), tokenId);
    }

    function approve(address to, uint256 tokenId) external {
        address owner = ownerOf(tokenId);
        require(
            msg.sender == owner || isApprovedForAll[owner][msg.sender],
            "ERC721: approve caller is not token owner or approved for all"
        );
        getApproved[tokenId] = to;
        emit Approval(owner, to, tokenId);
    }

    function setApprovalForAll(address operator, bool approved) external {
        isApprovedForAll[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function transferFrom(address from, address to, uint256 tokenId) public {
        address owner = ownerOf(tokenId);
        require(owner == from, "ERC721: transfer from incorrect owner");
        require(
            msg.sender == owner || isApprovedForAll[owner][msg.sender] || getApproved[tokenId] == msg.sender,
            "ERC721: caller is not token owner or approved"
        );
        delete getApproved[tokenId];
        owners[tokenId] = to;
        balanceOf[from] -= 1;
        balanceOf[to] += 1;
        emit Transfer(from, to, tokenId);
    }

    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        transferFrom(from, to, tokenId);
    }
}
