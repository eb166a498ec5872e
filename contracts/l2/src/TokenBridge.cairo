//! The StarkGate L2 bridge: burns bridged ERC-20s and sends the withdrawal to the L1 bridge
//! (`[TRANSFER_FROM_STARKNET = 0, l1_recipient, l1_token, amount.low, amount.high]`, what
//! contracts/l1/StarkGateBridge.sol `withdraw` consumes), and mints on the deposits the L1
//! bridge sends (`handle_token_deposit`, payload `[l1_token, depositor, l2_recipient,
//! amount.low, amount.high]`). Tokens are registered by the governor rather than deployed by
//! enrollment messages, as on the L1 side.

use starknet::{ContractAddress, EthAddress};

#[starknet::interface]
pub trait ITokenBridge<TState> {
    fn get_governor(self: @TState) -> ContractAddress;
    fn get_l1_bridge(self: @TState) -> EthAddress;
    fn get_l2_token(self: @TState, l1_token: EthAddress) -> ContractAddress;
    fn get_l1_token(self: @TState, l2_token: ContractAddress) -> EthAddress;
    fn set_l1_bridge(ref self: TState, l1_bridge: EthAddress);
    fn register_token(ref self: TState, l1_token: EthAddress, l2_token: ContractAddress);
    fn initiate_token_withdraw(
        ref self: TState, l1_token: EthAddress, l1_recipient: EthAddress, amount: u256,
    );
}

/// What the bridge calls on a bridged token (BridgedERC20).
#[starknet::interface]
pub trait IMintableToken<TState> {
    fn balance_of(self: @TState, account: ContractAddress) -> u256;
    fn permissioned_mint(ref self: TState, account: ContractAddress, amount: u256);
    fn permissioned_burn(ref self: TState, account: ContractAddress, amount: u256);
}

#[starknet::contract]
pub mod TokenBridge {
    use starknet::storage::{
        Map, StorageMapReadAccess, StorageMapWriteAccess, StoragePointerReadAccess,
        StoragePointerWriteAccess,
    };
    use starknet::syscalls::send_message_to_l1_syscall;
    use starknet::{ContractAddress, EthAddress, SyscallResultTrait, get_caller_address};
    use super::{IMintableTokenDispatcher, IMintableTokenDispatcherTrait};

    /// `TRANSFER_FROM_STARKNET`: the first word of a withdrawal message.
    const TRANSFER_FROM_STARKNET: felt252 = 0;

    #[storage]
    struct Storage {
        governor: ContractAddress,
        l1_bridge: felt252,
        l1_to_l2_token: Map<felt252, ContractAddress>,
        l2_to_l1_token: Map<ContractAddress, felt252>,
    }

    #[event]
    #[derive(Drop, starknet::Event)]
    pub enum Event {
        L1BridgeSet: L1BridgeSet,
        TokenRegistered: TokenRegistered,
        WithdrawInitiated: WithdrawInitiated,
        DepositHandled: DepositHandled,
    }

    #[derive(Drop, starknet::Event)]
    pub struct L1BridgeSet {
        pub l1_bridge: EthAddress,
    }

    #[derive(Drop, starknet::Event)]
    pub struct TokenRegistered {
        #[key]
        pub l1_token: EthAddress,
        pub l2_token: ContractAddress,
    }

    #[derive(Drop, starknet::Event)]
    pub struct WithdrawInitiated {
        #[key]
        pub l1_token: EthAddress,
        #[key]
        pub l1_recipient: EthAddress,
        pub amount: u256,
        #[key]
        pub caller_address: ContractAddress,
    }

    #[derive(Drop, starknet::Event)]
    pub struct DepositHandled {
        #[key]
        pub l1_token: EthAddress,
        pub depositor: EthAddress,
        #[key]
        pub l2_recipient: ContractAddress,
        pub amount: u256,
    }

    #[constructor]
    fn constructor(ref self: ContractState, governor: ContractAddress) {
        let g: felt252 = governor.into();
        assert(g != 0, 'ZERO_GOVERNOR');
        self.governor.write(governor);
    }

    fn only_governor(self: @ContractState) {
        assert(get_caller_address() == self.governor.read(), 'ONLY_GOVERNOR');
    }

    #[abi(embed_v0)]
    impl TokenBridgeImpl of super::ITokenBridge<ContractState> {
        fn get_governor(self: @ContractState) -> ContractAddress {
            self.governor.read()
        }
        fn get_l1_bridge(self: @ContractState) -> EthAddress {
            self.l1_bridge.read().try_into().unwrap()
        }
        fn get_l2_token(self: @ContractState, l1_token: EthAddress) -> ContractAddress {
            self.l1_to_l2_token.read(l1_token.into())
        }
        fn get_l1_token(self: @ContractState, l2_token: ContractAddress) -> EthAddress {
            self.l2_to_l1_token.read(l2_token).try_into().unwrap()
        }
        fn set_l1_bridge(ref self: ContractState, l1_bridge: EthAddress) {
            only_governor(@self);
            assert(self.l1_bridge.read() == 0, 'L1_BRIDGE_ALREADY_SET');
            let b: felt252 = l1_bridge.into();
            assert(b != 0, 'ZERO_L1_BRIDGE_ADDRESS');
            self.l1_bridge.write(b);
            self.emit(L1BridgeSet { l1_bridge });
        }
        fn register_token(ref self: ContractState, l1_token: EthAddress, l2_token: ContractAddress) {
            only_governor(@self);
            let l1: felt252 = l1_token.into();
            let l2: felt252 = l2_token.into();
            assert(l1 != 0 && l2 != 0, 'ZERO_TOKEN_ADDRESS');
            let existing: felt252 = self.l1_to_l2_token.read(l1).into();
            assert(existing == 0, 'TOKEN_ALREADY_REGISTERED');
            self.l1_to_l2_token.write(l1, l2_token);
            self.l2_to_l1_token.write(l2_token, l1);
            self.emit(TokenRegistered { l1_token, l2_token });
        }
        fn initiate_token_withdraw(
            ref self: ContractState, l1_token: EthAddress, l1_recipient: EthAddress, amount: u256,
        ) {
            let recipient: felt252 = l1_recipient.into();
            assert(recipient != 0, 'INVALID_RECIPIENT');
            let l2_token = self.l1_to_l2_token.read(l1_token.into());
            let t: felt252 = l2_token.into();
            assert(t != 0, 'TOKEN_NOT_IN_BRIDGE');
            assert(amount != 0, 'ZERO_WITHDRAWAL');
            let l1_bridge = self.l1_bridge.read();
            assert(l1_bridge != 0, 'L1_BRIDGE_NOT_SET');
            let caller = get_caller_address();
            let token = IMintableTokenDispatcher { contract_address: l2_token };
            assert(amount <= token.balance_of(caller), 'INSUFFICIENT_FUNDS');
            token.permissioned_burn(caller, amount);
            let payload = array![
                TRANSFER_FROM_STARKNET, recipient, l1_token.into(), amount.low.into(),
                amount.high.into(),
            ];
            send_message_to_l1_syscall(l1_bridge, payload.span()).unwrap_syscall();
            self.emit(WithdrawInitiated { l1_token, l1_recipient, amount, caller_address: caller });
        }
    }

    /// The L1 bridge's `deposit`: `[l1_token, depositor, l2_recipient, amount.low,
    /// amount.high]` (StarkGateBridge.sol `depositPayload`).
    #[l1_handler]
    fn handle_token_deposit(
        ref self: ContractState,
        from_address: felt252,
        l1_token: EthAddress,
        depositor: EthAddress,
        l2_recipient: ContractAddress,
        amount: u256,
    ) {
        let l1_bridge = self.l1_bridge.read();
        assert(l1_bridge != 0, 'L1_BRIDGE_NOT_SET');
        assert(from_address == l1_bridge, 'EXPECTED_FROM_BRIDGE_ONLY');
        let l2_token = self.l1_to_l2_token.read(l1_token.into());
        let t: felt252 = l2_token.into();
        assert(t != 0, 'TOKEN_NOT_IN_BRIDGE');
        IMintableTokenDispatcher { contract_address: l2_token }
            .permissioned_mint(l2_recipient, amount);
        self.emit(DepositHandled { l1_token, depositor, l2_recipient, amount });
    }
}
