//! A Starklane-style ERC-721 bridge, L2 side (ArkProject `bridge.cairo`), with the request
//! payload of contracts/l1/NftBridge.sol and the sandbox (crates/sandbox/src/l1/nft_bridge.rs):
//!
//!   [header, hash.low, hash.high, collection_l1, collection_l2, owner_l1, owner_l2, n,
//!    id_0.low, id_0.high, ...]
//!
//! `deposit_tokens` escrows (L2-native collection) or burns (mirror of an L1-native one) the
//! tokens and sends the request to the L1 bridge; `withdraw_auto_from_l1` handles the requests
//! the L1 bridge sends, releasing from escrow or minting to `owner_l2`. Collections are
//! registered pairs (Starklane's whitelist); nothing is deployed from a request.

use starknet::{ContractAddress, EthAddress};

/// A bridge request; its Serde is the payload layout above.
#[derive(Drop, Serde)]
pub struct Request {
    pub header: felt252,
    pub hash: u256,
    pub collection_l1: EthAddress,
    pub collection_l2: ContractAddress,
    pub owner_l1: EthAddress,
    pub owner_l2: ContractAddress,
    pub ids: Span<u256>,
}

#[starknet::interface]
pub trait INftBridge<TState> {
    fn get_admin(self: @TState) -> ContractAddress;
    fn get_l1_bridge(self: @TState) -> EthAddress;
    /// The pair of an L2 collection: its L1 collection and whether it is native on L2.
    fn get_collection(self: @TState, collection_l2: ContractAddress) -> (EthAddress, bool);
    fn get_l2_collection(self: @TState, collection_l1: EthAddress) -> ContractAddress;
    fn set_l1_bridge(ref self: TState, l1_bridge: EthAddress);
    fn register_collection(
        ref self: TState, collection_l1: EthAddress, collection_l2: ContractAddress, native_l2: bool,
    );
    fn deposit_tokens(
        ref self: TState,
        salt: felt252,
        collection_l2: ContractAddress,
        owner_l1: EthAddress,
        token_ids: Span<u256>,
        use_withdraw_auto: bool,
        use_deposit_burn_auto: bool,
    );
}

/// What the bridge calls on a collection (BridgedERC721).
#[starknet::interface]
pub trait IBridgeableERC721<TState> {
    fn transfer_from(ref self: TState, from: ContractAddress, to: ContractAddress, token_id: u256);
    fn permissioned_mint(ref self: TState, to: ContractAddress, token_id: u256);
    fn permissioned_burn(ref self: TState, from: ContractAddress, token_id: u256);
}

/// Starklane's request hash as a big-endian integer: keccak256 over the 32-byte big-endian
/// words `salt ‖ collection ‖ to ‖ ids…` (Solidity's `abi.encodePacked` of `uint256`s).
pub fn request_hash(salt: felt252, collection: felt252, to: felt252, ids: Span<u256>) -> u256 {
    let mut words: Array<u256> = array![salt.into(), collection.into(), to.into()];
    for id in ids {
        words.append(*id);
    }
    // keccak_u256s_be_inputs returns the digest as a little-endian integer.
    let le = core::keccak::keccak_u256s_be_inputs(words.span());
    u256 {
        low: core::integer::u128_byte_reverse(le.high),
        high: core::integer::u128_byte_reverse(le.low),
    }
}

#[starknet::contract]
pub mod NftBridge {
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::syscalls::send_message_to_l1_syscall;
    use starknet::{
        ContractAddress, EthAddress, SyscallResultTrait, get_block_timestamp, get_caller_address,
        get_contract_address,
    };
    use super::{IBridgeableERC721Dispatcher, IBridgeableERC721DispatcherTrait, Request};

    const HEADER_V1: u256 = 0x01;
    const ERC721_TYPE: u256 = 0x0100;
    const ERC1155_TYPE: u256 = 0x0200;
    const DEPOSIT_AUTO_BURN: u256 = 0x010000;
    const WITHDRAW_AUTO: u256 = 0x01000000;

    #[storage]
    struct Storage {
        admin: ContractAddress,
        l1_bridge: felt252,
        /// L2 collection → L1 collection (0: not registered).
        l2_to_l1: Map<ContractAddress, felt252>,
        /// L1 collection → L2 collection.
        l1_to_l2: Map<felt252, ContractAddress>,
        /// Whether an L2 collection is native on L2 (escrowed here) rather than a mirror.
        native_l2: Map<ContractAddress, bool>,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        CollectionRegistered: CollectionRegistered,
        DepositRequestInitiated: DepositRequestInitiated,
        WithdrawRequestCompleted: WithdrawRequestCompleted,
    }

    #[derive(Drop, starknet::Event)]
    pub struct CollectionRegistered {
        #[key]
        pub collection_l1: EthAddress,
        #[key]
        pub collection_l2: ContractAddress,
        pub native_l2: bool,
    }

    #[derive(Drop, starknet::Event)]
    pub struct DepositRequestInitiated {
        #[key]
        pub hash: u256,
        #[key]
        pub block_timestamp: u64,
        pub req_content: Span<felt252>,
    }

    #[derive(Drop, starknet::Event)]
    pub struct WithdrawRequestCompleted {
        #[key]
        pub hash: u256,
        #[key]
        pub block_timestamp: u64,
    }

    fn is_set(a: ContractAddress) -> bool {
        let f: felt252 = a.into();
        f != 0
    }

    #[constructor]
    fn constructor(ref self: ContractState, admin: ContractAddress) {
        assert(is_set(admin), 'Invalid admin');
        self.admin.write(admin);
    }

    fn only_admin(self: @ContractState) {
        assert(get_caller_address() == self.admin.read(), 'ONLY_ADMIN');
    }

    #[abi(embed_v0)]
    impl NftBridgeImpl of super::INftBridge<ContractState> {
        fn get_admin(self: @ContractState) -> ContractAddress {
            self.admin.read()
        }
        fn get_l1_bridge(self: @ContractState) -> EthAddress {
            self.l1_bridge.read().try_into().unwrap()
        }
        fn get_collection(
            self: @ContractState, collection_l2: ContractAddress,
        ) -> (EthAddress, bool) {
            (
                self.l2_to_l1.read(collection_l2).try_into().unwrap(),
                self.native_l2.read(collection_l2),
            )
        }
        fn get_l2_collection(self: @ContractState, collection_l1: EthAddress) -> ContractAddress {
            self.l1_to_l2.read(collection_l1.into())
        }
        fn set_l1_bridge(ref self: ContractState, l1_bridge: EthAddress) {
            only_admin(@self);
            assert(self.l1_bridge.read() == 0, 'L1 bridge already set');
            let b: felt252 = l1_bridge.into();
            assert(b != 0, 'Invalid L1 address');
            self.l1_bridge.write(b);
        }
        fn register_collection(
            ref self: ContractState,
            collection_l1: EthAddress,
            collection_l2: ContractAddress,
            native_l2: bool,
        ) {
            only_admin(@self);
            let l1: felt252 = collection_l1.into();
            assert(l1 != 0 && is_set(collection_l2), 'Invalid collection');
            self.l2_to_l1.write(collection_l2, l1);
            self.l1_to_l2.write(l1, collection_l2);
            self.native_l2.write(collection_l2, native_l2);
            self.emit(CollectionRegistered { collection_l1, collection_l2, native_l2 });
        }
        fn deposit_tokens(
            ref self: ContractState,
            salt: felt252,
            collection_l2: ContractAddress,
            owner_l1: EthAddress,
            token_ids: Span<u256>,
            use_withdraw_auto: bool,
            use_deposit_burn_auto: bool,
        ) {
            let owner_l1_felt: felt252 = owner_l1.into();
            assert(owner_l1_felt != 0, 'Invalid L1 address');
            let collection_l1 = self.l2_to_l1.read(collection_l2);
            assert(collection_l1 != 0, 'Collection not whitelisted');
            assert(token_ids.len() > 0, 'No token ids');
            let l1_bridge = self.l1_bridge.read();
            assert(l1_bridge != 0, 'L1 bridge not set');
            let caller = get_caller_address();
            let bridge = get_contract_address();
            let native_l2 = self.native_l2.read(collection_l2);
            let collection = IBridgeableERC721Dispatcher { contract_address: collection_l2 };
            for id in token_ids {
                if native_l2 {
                    // Escrow: the caller approved the bridge.
                    collection.transfer_from(caller, bridge, *id);
                } else {
                    collection.permissioned_burn(caller, *id);
                }
            }
            let mut header = HEADER_V1 | ERC721_TYPE;
            if use_withdraw_auto {
                header = header | WITHDRAW_AUTO;
            }
            if use_deposit_burn_auto {
                header = header | DEPOSIT_AUTO_BURN;
            }
            let hash = super::request_hash(
                salt, collection_l2.into(), owner_l1_felt, token_ids,
            );
            let req = Request {
                header: header.try_into().unwrap(),
                hash,
                collection_l1: collection_l1.try_into().unwrap(),
                collection_l2,
                owner_l1,
                owner_l2: caller,
                ids: token_ids,
            };
            let mut payload: Array<felt252> = array![];
            req.serialize(ref payload);
            send_message_to_l1_syscall(l1_bridge, payload.span()).unwrap_syscall();
            self
                .emit(
                    DepositRequestInitiated {
                        hash, block_timestamp: get_block_timestamp(), req_content: payload.span(),
                    },
                );
        }
    }

    /// The L1 bridge's `depositTokens`: releases escrowed tokens (L2-native collection) or mints
    /// the mirror's (L1-native) to `owner_l2`.
    #[l1_handler]
    fn withdraw_auto_from_l1(ref self: ContractState, from_address: felt252, req: Request) {
        let l1_bridge = self.l1_bridge.read();
        assert(l1_bridge != 0 && from_address == l1_bridge, 'Invalid L1 msg sender');
        let header: u256 = req.header.into();
        assert(header & 0xff == HEADER_V1, 'BadRequestError');
        assert(header & 0xff00 != ERC1155_TYPE, 'NotSupportedYetError');
        assert(header & 0xff00 == ERC721_TYPE, 'BadRequestError');
        let collection_l2 = self.l1_to_l2.read(req.collection_l1.into());
        assert(is_set(collection_l2), 'Collection not whitelisted');
        let native_l2 = self.native_l2.read(collection_l2);
        let collection = IBridgeableERC721Dispatcher { contract_address: collection_l2 };
        let bridge = get_contract_address();
        for id in req.ids {
            if native_l2 {
                collection.transfer_from(bridge, req.owner_l2, *id);
            } else {
                collection.permissioned_mint(req.owner_l2, *id);
            }
        }
        self.emit(WithdrawRequestCompleted { hash: req.hash, block_timestamp: get_block_timestamp() });
    }
}
