//! An ERC-721 with OpenZeppelin's entry points and error strings, minted by its owner (an
//! L2-native collection) or by the NFT bridge (the L2 mirror of an L1-native collection, or
//! tokens bridged back). `name` and `symbol` are short strings.

use starknet::ContractAddress;

#[starknet::interface]
pub trait IBridgedERC721<TState> {
    fn name(self: @TState) -> felt252;
    fn symbol(self: @TState) -> felt252;
    fn balance_of(self: @TState, account: ContractAddress) -> u256;
    fn owner_of(self: @TState, token_id: u256) -> ContractAddress;
    fn get_approved(self: @TState, token_id: u256) -> ContractAddress;
    fn is_approved_for_all(
        self: @TState, owner: ContractAddress, operator: ContractAddress,
    ) -> bool;
    fn approve(ref self: TState, to: ContractAddress, token_id: u256);
    fn set_approval_for_all(ref self: TState, operator: ContractAddress, approved: bool);
    fn transfer_from(ref self: TState, from: ContractAddress, to: ContractAddress, token_id: u256);
    fn owner(self: @TState) -> ContractAddress;
    fn bridge(self: @TState) -> ContractAddress;
    fn mint(ref self: TState, to: ContractAddress, token_id: u256);
    fn permissioned_mint(ref self: TState, to: ContractAddress, token_id: u256);
    fn permissioned_burn(ref self: TState, from: ContractAddress, token_id: u256);
}

#[starknet::contract]
pub mod BridgedERC721 {
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::{ContractAddress, get_caller_address};

    #[storage]
    struct Storage {
        name: felt252,
        symbol: felt252,
        owner: ContractAddress,
        bridge: ContractAddress,
        owners: Map<u256, ContractAddress>,
        balances: Map<ContractAddress, u256>,
        token_approvals: Map<u256, ContractAddress>,
        operator_approvals: Map<(ContractAddress, ContractAddress), bool>,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        Transfer: Transfer,
        Approval: Approval,
        ApprovalForAll: ApprovalForAll,
    }

    #[derive(Drop, starknet::Event)]
    pub struct Transfer {
        #[key]
        pub from: ContractAddress,
        #[key]
        pub to: ContractAddress,
        #[key]
        pub token_id: u256,
    }

    #[derive(Drop, starknet::Event)]
    pub struct Approval {
        #[key]
        pub owner: ContractAddress,
        #[key]
        pub approved: ContractAddress,
        #[key]
        pub token_id: u256,
    }

    #[derive(Drop, starknet::Event)]
    pub struct ApprovalForAll {
        #[key]
        pub owner: ContractAddress,
        #[key]
        pub operator: ContractAddress,
        pub approved: bool,
    }

    fn is_set(a: ContractAddress) -> bool {
        let f: felt252 = a.into();
        f != 0
    }

    fn zero() -> ContractAddress {
        0.try_into().unwrap()
    }

    #[constructor]
    fn constructor(
        ref self: ContractState,
        name: felt252,
        symbol: felt252,
        owner: ContractAddress,
        bridge: ContractAddress,
    ) {
        self.name.write(name);
        self.symbol.write(symbol);
        self.owner.write(owner);
        self.bridge.write(bridge);
    }

    #[abi(embed_v0)]
    impl BridgedERC721Impl of super::IBridgedERC721<ContractState> {
        fn name(self: @ContractState) -> felt252 {
            self.name.read()
        }
        fn symbol(self: @ContractState) -> felt252 {
            self.symbol.read()
        }
        fn balance_of(self: @ContractState, account: ContractAddress) -> u256 {
            assert(is_set(account), 'ERC721: invalid account');
            self.balances.read(account)
        }
        fn owner_of(self: @ContractState, token_id: u256) -> ContractAddress {
            self._owner_of(token_id)
        }
        fn get_approved(self: @ContractState, token_id: u256) -> ContractAddress {
            self._owner_of(token_id);
            self.token_approvals.read(token_id)
        }
        fn is_approved_for_all(
            self: @ContractState, owner: ContractAddress, operator: ContractAddress,
        ) -> bool {
            self.operator_approvals.read((owner, operator))
        }
        fn approve(ref self: ContractState, to: ContractAddress, token_id: u256) {
            let owner = self._owner_of(token_id);
            let caller = get_caller_address();
            assert(
                caller == owner || self.operator_approvals.read((owner, caller)),
                'ERC721: unauthorized caller',
            );
            self.token_approvals.write(token_id, to);
            self.emit(Approval { owner, approved: to, token_id });
        }
        fn set_approval_for_all(ref self: ContractState, operator: ContractAddress, approved: bool) {
            let owner = get_caller_address();
            assert(owner != operator, 'ERC721: self approval');
            self.operator_approvals.write((owner, operator), approved);
            self.emit(ApprovalForAll { owner, operator, approved });
        }
        fn transfer_from(
            ref self: ContractState, from: ContractAddress, to: ContractAddress, token_id: u256,
        ) {
            assert(is_set(to), 'ERC721: invalid receiver');
            let owner = self._owner_of(token_id);
            let caller = get_caller_address();
            let authorized = caller == owner
                || self.operator_approvals.read((owner, caller))
                || self.token_approvals.read(token_id) == caller;
            assert(authorized, 'ERC721: unauthorized caller');
            assert(owner == from, 'ERC721: invalid sender');
            self._move(from, to, token_id);
        }
        fn owner(self: @ContractState) -> ContractAddress {
            self.owner.read()
        }
        fn bridge(self: @ContractState) -> ContractAddress {
            self.bridge.read()
        }
        fn mint(ref self: ContractState, to: ContractAddress, token_id: u256) {
            assert(get_caller_address() == self.owner.read(), 'Caller is not the owner');
            self._mint(to, token_id);
        }
        fn permissioned_mint(ref self: ContractState, to: ContractAddress, token_id: u256) {
            self._only_bridge();
            self._mint(to, token_id);
        }
        fn permissioned_burn(ref self: ContractState, from: ContractAddress, token_id: u256) {
            self._only_bridge();
            let owner = self._owner_of(token_id);
            assert(owner == from, 'ERC721: unauthorized caller');
            self._move(from, zero(), token_id);
        }
    }

    #[generate_trait]
    impl InternalImpl of InternalTrait {
        fn _owner_of(self: @ContractState, token_id: u256) -> ContractAddress {
            let owner = self.owners.read(token_id);
            assert(is_set(owner), 'ERC721: invalid token ID');
            owner
        }
        fn _only_bridge(self: @ContractState) {
            let bridge = self.bridge.read();
            assert(is_set(bridge) && get_caller_address() == bridge, 'ERC721: only bridge');
        }
        fn _mint(ref self: ContractState, to: ContractAddress, token_id: u256) {
            assert(is_set(to), 'ERC721: invalid receiver');
            assert(!is_set(self.owners.read(token_id)), 'ERC721: token already minted');
            self.balances.write(to, self.balances.read(to) + 1);
            self.owners.write(token_id, to);
            self.emit(Transfer { from: zero(), to, token_id });
        }
        /// Moves (or burns, `to` = 0) an existing token, clearing its approval.
        fn _move(
            ref self: ContractState, from: ContractAddress, to: ContractAddress, token_id: u256,
        ) {
            self.token_approvals.write(token_id, zero());
            self.balances.write(from, self.balances.read(from) - 1);
            if is_set(to) {
                self.balances.write(to, self.balances.read(to) + 1);
            }
            self.owners.write(token_id, to);
            self.emit(Transfer { from, to, token_id });
        }
    }
}
