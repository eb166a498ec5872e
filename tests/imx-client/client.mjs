// The official ImmutableX client, @imtbl/core-sdk 2.7.0 from npm, unmodified, against
// `starkroute sandbox`: every call checked for the right result, not only for no exception.
//
//   node tests/imx-client/client.mjs <path to the starkroute binary>
//
// The SDK is installed outside the clone (IMX_CLIENT_DIR, default
// ~/.cache/starkroute/imx-client; .ci/run installs it there). The script starts the sandbox
// (`--listen 127.0.0.1:0 --fund-starkex`), reads its banner, runs the calls and stops it.
//
// The sandbox's L1 is in-process (no JSON-RPC), so the wallets are ethers v5 Wallets without a
// provider whose getChainId answers the sandbox L1's chain id (31337): the SDK checks the chain
// before signing, and that is all it asks the L1 for in these workflows. The L1 calls
// (deposit, isRegisteredOnchain, completeWithdrawal) need a real node and are not run here.
//
// Keys: well-known test keys only. Alice's are the imx-core-sdk's published test vector
// (PROTOCOL.md B.6: ETH key -> Stark key by generateLegacyStarkPrivateKey); Bob's are anvil's
// second account and the starkex-resources address vector. Carol is created here.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const dir = process.env.IMX_CLIENT_DIR ?? join(homedir(), '.cache/starkroute/imx-client');
const require = createRequire(join(dir, 'package.json'));
const sdk = require('@imtbl/core-sdk');
const { Wallet } = require('ethers');
const sdkVersion = require('@imtbl/core-sdk/package.json').version;

const CHAIN_ID = 31337;
const ALICE_ETH = '5c7b4b5cad9a3fc7b1ba235a49cd74e615488a18b0d6a531739fd1062935104d';
const ALICE_STARK = '0556413893a023efd75f62cd4eca825f2be7e918b5188f1db06cbec12d7d1b88';
const BOB_ETH = '59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const BOB_STARK = '019b5de47e5fc8f2e8c3415b42a126aadb462637f2feca1df3733fe3f37cf50f';
const USDC = '0x00000000000000000000000000000000000005dc';
const IMXART = '0x0000000000000000000000000000000000001a47';

class SandboxWallet extends Wallet {
  async getChainId() {
    return CHAIN_ID;
  }
}

let passed = 0;
function check(what, cond, detail) {
  if (!cond) {
    throw new Error(`FAILED: ${what}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  }
  passed += 1;
  console.log(`ok - ${what}`);
}
const same = (a, b) => BigInt(a) === BigInt(b);
const lower = (s) => s.toLowerCase();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, f, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`FAILED: timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function refusal(p) {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return null;
}

function startSandbox(bin) {
  const child = spawn(
    bin,
    ['sandbox', '--listen', '127.0.0.1:0', '--fund-starkex', '--batch-interval', '3600'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const banner = new Promise((resolve, reject) => {
    lines.once('line', (l) => resolve(JSON.parse(l)));
    child.once('exit', (code) => reject(new Error(`the sandbox exited (${code}) before its banner`)));
  });
  return { child, banner };
}

async function main(bin) {
  check(`the client is @imtbl/core-sdk 2.7.0`, sdkVersion === '2.7.0', sdkVersion);
  const { child, banner } = startSandbox(bin);
  try {
    await run(await banner);
  } finally {
    child.kill('SIGINT');
  }
}

async function run(banner) {
  const client = new sdk.ImmutableX(
    sdk.Config.createConfig({
      basePath: banner.starkex_api,
      chainID: CHAIN_ID,
      coreContractAddress: '0x0000000000000000000000000000000000000000',
      registrationContractAddress: '0x0000000000000000000000000000000000000000',
    }),
  );
  const alice = { ethSigner: new SandboxWallet(ALICE_ETH), starkSigner: sdk.createStarkSigner(ALICE_STARK) };
  const bob = { ethSigner: new SandboxWallet(BOB_ETH), starkSigner: sdk.createStarkSigner(BOB_STARK) };
  const aliceAddr = lower(await alice.ethSigner.getAddress());
  const bobAddr = lower(await bob.ethSigner.getAddress());
  check('Alice is the sandbox banner’s Alice', aliceAddr === lower(banner.alice.l1), banner.alice);
  check('Alice’s Stark key is the banner’s', same(alice.starkSigner.getAddress(), banner.alice.starkex));
  check('Bob’s Stark key is the banner’s', same(bob.starkSigner.getAddress(), banner.bob.starkex));

  // Users: Alice and Bob are registered on the L1 contract at genesis; Carol registers off-chain.
  const aliceUser = await client.getUser(aliceAddr);
  check('getUser: Alice (L1 registry)', same(aliceUser.accounts[0], banner.alice.starkex), aliceUser);
  const bobUser = await client.getUser(bobAddr);
  check('getUser: Bob (L1 registry)', same(bobUser.accounts[0], banner.bob.starkex), bobUser);
  const carolEth = SandboxWallet.createRandom();
  const carol = {
    ethSigner: new SandboxWallet(carolEth.privateKey),
    starkSigner: sdk.createStarkSigner(sdk.generateStarkPrivateKey()),
  };
  const carolAddr = lower(await carol.ethSigner.getAddress());
  const unknown = await refusal(client.getUser(carolAddr));
  check('getUser: Carol unknown before registering', unknown?.code === 'account_not_found', unknown);
  const registered = await client.registerOffchain(carol);
  check('registerOffchain: Carol (no L1 transaction, empty tx_hash)', registered.tx_hash === '', registered);
  const carolUser = await client.getUser(carolAddr);
  check('getUser: Carol after registering', same(carolUser.accounts[0], carol.starkSigner.getAddress()), carolUser);
  const again = await refusal(client.registerOffchain(carol));
  check('registerOffchain twice is refused', again?.code === 'user_already_registered', again);

  // Deposits: Alice's 10 ETH and 1000 USDC, made on L1 at start, picked up by the engine.
  const deposits = await until('Alice’s deposits', async () => {
    const l = await client.listDeposits({ user: aliceAddr });
    return l.result.length === 2 && l.result.every((d) => d.status === 'success') ? l : null;
  });
  const ethDeposit = deposits.result.find((d) => d.token.type === 'ETH');
  const usdcDeposit = deposits.result.find((d) => d.token.type === 'ERC20');
  check('listDeposits: 10 ETH in wei', ethDeposit?.token.data.quantity === '10000000000000000000', deposits);
  check('listDeposits: 1000 USDC in base units', lower(usdcDeposit?.token.data.token_address ?? '') === USDC
    && usdcDeposit.token.data.quantity === '1000000000', deposits);
  const oneDeposit = await client.getDeposit({ id: String(ethDeposit.transaction_id) });
  check('getDeposit', oneDeposit.transaction_id === ethDeposit.transaction_id && lower(oneDeposit.user) === aliceAddr, oneDeposit);
  const usdcOnly = await client.listDeposits({ user: aliceAddr, tokenType: 'ERC20' });
  check('listDeposits filtered by token_type', usdcOnly.result.length === 1, usdcOnly);

  // Tokens and balances.
  const tokens = await client.listTokens();
  check('listTokens: ETH and USDC', tokens.result.map((t) => t.symbol).sort().join() === 'ETH,USDC', tokens);
  const usdcToken = await client.getToken({ address: USDC });
  check('getToken: USDC', usdcToken.symbol === 'USDC' && usdcToken.decimals === '6' && usdcToken.quantum === '1', usdcToken);
  const aliceBalances = await client.listBalances({ owner: aliceAddr });
  const bal = (l, sym) => l.result.find((b) => b.symbol === sym);
  check('listBalances: Alice’s ETH', bal(aliceBalances, 'ETH')?.balance === '10000000000000000000', aliceBalances);
  check('listBalances: Alice’s USDC', bal(aliceBalances, 'USDC')?.balance === '1000000000', aliceBalances);
  const usdcBalance = await client.getBalance({ owner: aliceAddr, address: USDC });
  check('getBalance: Alice’s USDC', usdcBalance.balance === '1000000000' && usdcBalance.symbol === 'USDC', usdcBalance);

  // Mints: Alice owns the IMXART collection; three tokens for her.
  const minted = await client.mint(alice.ethSigner, {
    contract_address: IMXART,
    royalties: [{ recipient: aliceAddr, percentage: 2.5 }],
    users: [{
      user: aliceAddr,
      tokens: ['101', '102', '103'].map((id) => ({ id, blueprint: `art:${id}` })),
    }],
  });
  check('mint: three IMXART tokens', minted.results.length === 3
    && minted.results.every((r) => lower(r.contract_address) === IMXART), minted);
  const forged = await refusal(client.mint(bob.ethSigner, {
    contract_address: IMXART,
    users: [{ user: bobAddr, tokens: [{ id: '999', blueprint: 'x' }] }],
  }));
  check('mint by someone else than the collection owner is refused', forged?.code === 'unauthorised_request', forged);
  const mints = await client.listMints({ user: aliceAddr });
  check('listMints', mints.result.length === 3 && mints.result.every((m) => m.fees?.[0]?.percentage === 2.5), mints);
  const oneMint = await client.getMint({ id: String(minted.results[0].tx_id) });
  check('getMint', oneMint[0]?.token.data.token_id === '101', oneMint);
  const collections = await client.listCollections();
  check('listCollections', collections.result.some((c) => lower(c.address) === IMXART
    && lower(c.project_owner_address) === aliceAddr), collections);

  // Assets.
  const assets = await client.listAssets({ user: aliceAddr });
  check('listAssets: Alice’s three tokens', assets.result.length === 3
    && assets.result.every((a) => a.status === 'imx' && lower(a.token_address) === IMXART), assets);
  const asset = await client.getAsset({ tokenAddress: IMXART, tokenId: '101' });
  check('getAsset', lower(asset.user) === aliceAddr && asset.token_id === '101', asset);

  // Transfers: ETH, ERC-20, ERC-721 to Bob (registered on L1 only), then a batch of NFTs.
  const ethTransfer = await client.transfer(alice, { type: 'ETH', amount: '100000000000000000', receiver: bobAddr });
  check('transfer: ETH', ethTransfer.status === 'success' && ethTransfer.transfer_id > 0, ethTransfer);
  const t1 = await client.getTransfer({ id: String(ethTransfer.transfer_id) });
  check('getTransfer: ETH', lower(t1.receiver) === bobAddr && t1.token.data.quantity === '100000000000000000', t1);
  const usdcTransfer = await client.transfer(alice, { type: 'ERC20', tokenAddress: USDC, amount: '2500000', receiver: bobAddr });
  check('transfer: ERC-20', usdcTransfer.status === 'success', usdcTransfer);
  const nftTransfer = await client.transfer(alice, { type: 'ERC721', tokenAddress: IMXART, tokenId: '101', receiver: bobAddr });
  check('transfer: ERC-721', nftTransfer.status === 'success', nftTransfer);
  const moved = await client.getAsset({ tokenAddress: IMXART, tokenId: '101' });
  check('getAsset: the NFT is Bob’s', lower(moved.user) === bobAddr, moved);
  const batch = await client.batchNftTransfer(alice, [
    { tokenAddress: IMXART, tokenId: '102', receiver: bobAddr },
    { tokenAddress: IMXART, tokenId: '103', receiver: carolAddr },
  ]);
  check('batchNftTransfer', batch.transfer_ids?.length === 2, batch);
  const toCarol = await client.listTransfers({ receiver: carolAddr });
  check('listTransfers: to Carol', toCarol.result.length === 1 && toCarol.result[0].token.data.token_id === '103', toCarol);
  const fromAlice = await client.listTransfers({ user: aliceAddr });
  check('listTransfers: from Alice', fromAlice.result.length === 5, fromAlice);
  const bobBalances = await client.listBalances({ owner: bobAddr });
  check('listBalances: Bob (L1 registry only) got 0.1 ETH', bal(bobBalances, 'ETH')?.balance === '100000000000000000', bobBalances);
  check('listBalances: Bob got 2.5 USDC', bal(bobBalances, 'USDC')?.balance === '2500000', bobBalances);
  const bobAssets = await client.listAssets({ user: bobAddr });
  check('listAssets: Bob’s two NFTs', bobAssets.result.length === 2, bobAssets);

  // Withdrawals: ETH and ERC-20 by Alice, ERC-721 by Bob.
  const ethW = await client.prepareWithdrawal(alice, { type: 'ETH', amount: '500000000000000000' });
  check('prepareWithdrawal: ETH (base units)', ethW.status === 'success' && ethW.withdrawal_id > 0, ethW);
  const usdcW = await client.prepareWithdrawal(alice, { type: 'ERC20', tokenAddress: USDC, amount: '10000000' });
  check('prepareWithdrawal: ERC-20', usdcW.status === 'success', usdcW);
  const nftW = await client.prepareWithdrawal(bob, { type: 'ERC721', tokenAddress: IMXART, tokenId: '101' });
  check('prepareWithdrawal: ERC-721 (minted, for withdrawAndMint)', nftW.status === 'success', nftW);
  const w1 = await client.getWithdrawal({ id: String(ethW.withdrawal_id) });
  check('getWithdrawal: ETH amount in wei', w1.token.data.quantity === '500000000000000000' && lower(w1.sender) === aliceAddr, w1);
  const aliceW = await client.listWithdrawals({ user: aliceAddr });
  check('listWithdrawals: Alice’s two', aliceW.result.length === 2, aliceW);
  const preparing = await client.getBalance({ owner: aliceAddr, address: 'eth' });
  // Preparing until the next batch, withdrawable after it: the sandbox's clock runs on, and a
  // slow machine can see the batch before this call.
  check('getBalance: the withdrawal is preparing or withdrawable',
    BigInt(preparing.preparing_withdrawal) + BigInt(preparing.withdrawable) === 500000000000000000n
    && preparing.balance === '9400000000000000000', preparing);
  const confirmed = await until('the withdrawals’ batch', async () => {
    const l = await client.listWithdrawals({ rollupStatus: 'confirmed' });
    return l.result.length === 3 ? l : null;
  });
  check('listWithdrawals: confirmed once the batch is posted', confirmed.result.length === 3, confirmed);
  const withdrawable = await client.getBalance({ owner: aliceAddr, address: 'eth' });
  check('getBalance: withdrawable', withdrawable.withdrawable === '500000000000000000', withdrawable);
  const nftAsset = await client.getAsset({ tokenAddress: IMXART, tokenId: '101' });
  check('getAsset: the withdrawn NFT is withdrawable', nftAsset.status === 'withdrawable', nftAsset);

  // Out of scope: an answer that says so.
  const orders = await refusal(client.listOrders());
  check('listOrders answers 501 not_implemented', orders?.code === 'not_implemented', orders);
}

main(process.argv[2] ?? 'target/debug/starkroute').then(
  () => {
    console.log(`imx-client: ${passed} checks passed`);
    process.exit(0);
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
