//! Contract bindings generated with `sol!` from the committed JSON ABIs in `abis/` (built from
//! `contracts/l1/` by `contracts/build.sh`).

#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[derive(Debug, PartialEq, Eq)]
    StarkExCore,
    "../../abis/StarkExCore.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    Registration,
    "../../abis/Registration.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    StarkGateBridge,
    "../../abis/StarkGateBridge.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    StarknetMessaging,
    "../../abis/StarknetMessaging.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    NftBridge,
    "../../abis/NftBridge.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    TestERC20,
    "../../abis/TestERC20.json"
);
sol!(
    #[derive(Debug, PartialEq, Eq)]
    TestERC721,
    "../../abis/TestERC721.json"
);
