//! An ERC-20 whose supply is minted and burnt by its StarkGate L2 bridge (StarkGate's
//! `ERC20Mintable`/`permissioned_mint`), with OpenZeppelin's entry points and error strings.
//! `name` and `symbol` are short strings.

use starknet::ContractAddress;

#[starknet::interface]
pub trait IBridgedERC20<TState> {
    fn name(self: @TState) -> felt252;
    fn symbol(self: @TState) -> felt252;
    fn decimals(self: @TState) -> u8;
    fn total_supply(self: @TState) -> u256;
    fn balance_of(self: @TState, account: ContractAddress) -> u256;
    fn allowance(self: @TState, owner: ContractAddress, spender: ContractAddress) -> u256;
    fn transfer(ref self: TState, recipient: ContractAddress, amount: u256) -> bool;
    fn transfer_from(
        ref self: TState, sender: ContractAddress, recipient: ContractAddress, amount: u256,
    ) -> bool;
    fn approve(ref self: TState, spender: ContractAddress, amount: u256) -> bool;
    fn permitted_minter(self: @TState) -> ContractAddress;
    fn permissioned_mint(ref self: TState, account: ContractAddress, amount: u256);
    fn permissioned_burn(ref self: TState, account: ContractAddress, amount: u256);
}

#[starknet::contract]
pub mod BridgedERC20 {
    use core::num::traits::{Bounded, Zero};
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::{ContractAddress, get_caller_address};

    #[storage]
    struct Storage {
        name: felt252,
        symbol: felt252,
        decimals: u8,
        total_supply: u256,
        balances: Map<ContractAddress, u256>,
        allowances: Map<(ContractAddress, ContractAddress), u256>,
        bridge: ContractAddress,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        Transfer: Transfer,
        Approval: Approval,
    }

    #[derive(Drop, starknet::Event)]
    pub struct Transfer {
        #[key]
        pub from: ContractAddress,
        #[key]
        pub to: ContractAddress,
        pub value: u256,
    }

    #[derive(Drop, starknet::Event)]
    pub struct Approval {
        #[key]
        pub owner: ContractAddress,
        #[key]
        pub spender: ContractAddress,
        pub value: u256,
    }

    #[constructor]
    fn constructor(
        ref self: ContractState,
        name: felt252,
        symbol: felt252,
        decimals: u8,
        bridge: ContractAddress,
    ) {
        assert(is_set(bridge), 'ERC20: bridge is 0');
        self.name.write(name);
        self.symbol.write(symbol);
        self.decimals.write(decimals);
        self.bridge.write(bridge);
    }

    #[abi(embed_v0)]
    impl BridgedERC20Impl of super::IBridgedERC20<ContractState> {
        fn name(self: @ContractState) -> felt252 {
            self.name.read()
        }
        fn symbol(self: @ContractState) -> felt252 {
            self.symbol.read()
        }
        fn decimals(self: @ContractState) -> u8 {
            self.decimals.read()
        }
        fn total_supply(self: @ContractState) -> u256 {
            self.total_supply.read()
        }
        fn balance_of(self: @ContractState, account: ContractAddress) -> u256 {
            self.balances.read(account)
        }
        fn allowance(
            self: @ContractState, owner: ContractAddress, spender: ContractAddress,
        ) -> u256 {
            self.allowances.read((owner, spender))
        }
        fn transfer(ref self: ContractState, recipient: ContractAddress, amount: u256) -> bool {
            self._transfer(get_caller_address(), recipient, amount);
            true
        }
        fn transfer_from(
            ref self: ContractState,
            sender: ContractAddress,
            recipient: ContractAddress,
            amount: u256,
        ) -> bool {
            let caller = get_caller_address();
            let allowance = self.allowances.read((sender, caller));
            if allowance != Bounded::<u256>::MAX {
                assert(allowance >= amount, 'ERC20: insufficient allowance');
                self.allowances.write((sender, caller), allowance - amount);
            }
            self._transfer(sender, recipient, amount);
            true
        }
        fn approve(ref self: ContractState, spender: ContractAddress, amount: u256) -> bool {
            let owner = get_caller_address();
            assert(is_set(spender), 'ERC20: approve to 0');
            self.allowances.write((owner, spender), amount);
            self.emit(Approval { owner, spender, value: amount });
            true
        }
        fn permitted_minter(self: @ContractState) -> ContractAddress {
            self.bridge.read()
        }
        fn permissioned_mint(ref self: ContractState, account: ContractAddress, amount: u256) {
            self._only_bridge();
            assert(is_set(account), 'ERC20: mint to 0');
            self.total_supply.write(self.total_supply.read() + amount);
            self.balances.write(account, self.balances.read(account) + amount);
            self.emit(Transfer { from: Zero::zero(), to: account, value: amount });
        }
        fn permissioned_burn(ref self: ContractState, account: ContractAddress, amount: u256) {
            self._only_bridge();
            assert(is_set(account), 'ERC20: burn from 0');
            let balance = self.balances.read(account);
            assert(balance >= amount, 'ERC20: insufficient balance');
            self.balances.write(account, balance - amount);
            self.total_supply.write(self.total_supply.read() - amount);
            self.emit(Transfer { from: account, to: Zero::zero(), value: amount });
        }
    }

    fn is_set(a: ContractAddress) -> bool {
        let f: felt252 = a.into();
        f != 0
    }

    #[generate_trait]
    impl InternalImpl of InternalTrait {
        fn _only_bridge(self: @ContractState) {
            assert(get_caller_address() == self.bridge.read(), 'MINTER_ONLY');
        }
        fn _transfer(
            ref self: ContractState,
            sender: ContractAddress,
            recipient: ContractAddress,
            amount: u256,
        ) {
            assert(is_set(sender), 'ERC20: transfer from 0');
            assert(is_set(recipient), 'ERC20: transfer to 0');
            let balance = self.balances.read(sender);
            assert(balance >= amount, 'ERC20: insufficient balance');
            self.balances.write(sender, balance - amount);
            self.balances.write(recipient, self.balances.read(recipient) + amount);
            self.emit(Transfer { from: sender, to: recipient, value: amount });
        }
    }
}
