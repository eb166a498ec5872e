// The official ImmutableX client, @imtbl/core-sdk 2.7.0 from npm, unmodified, calling the L1:
// the embedded StarkEx engine operating the StarkEx contract on anvil (the devnet stack), with
// ImmutableX's registration helper deployed beside it. Every call checked for its effect on the
// chain or in the API, not only for no exception.
//
// Started by crates/devstack/tests/e2e (the_official_client_deposits_registers_and_withdraws_on_anvil),
// which deploys the contracts, runs the engine and passes, in the environment:
//   L1_RPC_URL, STARKEX_API, CORE, REGISTRATION, USDC, ALICE_ETH, ALICE_STARK, ALICE_STARK_KEY
// Alice is registered on the contract; Carol and Dave are created here and registered only
// off-chain, so that the client takes its v3 paths: `registerAndDepositEth` on the core and
// `registerAndWithdraw` on the registration contract, with the operator's signature from
// `POST /v1/signable-registration`.

import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

const dir = process.env.IMX_CLIENT_DIR ?? join(homedir(), '.cache/starkroute/imx-client');
const require = createRequire(join(dir, 'package.json'));
const sdk = require('@imtbl/core-sdk');
const { Wallet, providers, BigNumber, Contract } = require('ethers');

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing environment variable ${k}`);
  return v;
};

let passed = 0;
function check(what, cond, detail) {
  if (!cond) {
    throw new Error(`FAILED: ${what}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  }
  passed += 1;
  console.log(`ok - ${what}`);
}
const lower = (s) => s.toLowerCase();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Polls `f` until it answers something truthy (a check: it fails after `ms`).
async function until(what, f, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) {
      passed += 1;
      console.log(`ok - ${what}`);
      return v;
    }
    if (Date.now() > end) throw new Error(`FAILED: timed out waiting for ${what}`);
    await sleep(250);
  }
}

/// Wei the mined transaction `tx` paid for gas.
async function gasPaid(tx) {
  const r = await tx.wait();
  check(`transaction ${tx.hash.slice(0, 10)}… succeeded`, r.status === 1, r);
  return r.gasUsed.mul(r.effectiveGasPrice);
}

async function balanceOf(client, owner, symbol) {
  const l = await client.listBalances({ owner });
  return l.result.find((b) => b.symbol === symbol)?.balance ?? '0';
}

async function main() {
  const provider = new providers.JsonRpcProvider(env('L1_RPC_URL'));
  const chainID = (await provider.getNetwork()).chainId;
  const client = new sdk.ImmutableX(
    sdk.Config.createConfig({
      basePath: env('STARKEX_API'),
      chainID,
      coreContractAddress: env('CORE'),
      registrationContractAddress: env('REGISTRATION'),
    }),
  );
  const usdc = lower(env('USDC'));
  const alice = {
    ethSigner: new Wallet(env('ALICE_ETH'), provider),
    starkSigner: sdk.createStarkSigner(env('ALICE_STARK')),
  };
  const aliceAddr = lower(await alice.ethSigner.getAddress());
  check('Alice’s Stark key is the stack’s', BigInt(await alice.starkSigner.getAddress()) === BigInt(env('ALICE_STARK_KEY')));
  const fresh = () => ({
    ethSigner: Wallet.createRandom().connect(provider),
    starkSigner: sdk.createStarkSigner(sdk.generateStarkPrivateKey()),
  });
  const carol = fresh();
  const dave = fresh();
  const carolAddr = lower(await carol.ethSigner.getAddress());
  const daveAddr = lower(await dave.ethSigner.getAddress());
  for (const who of [carolAddr, daveAddr]) {
    await (await alice.ethSigner.sendTransaction({ to: who, value: BigNumber.from(10).pow(18) })).wait();
  }

  // isRegisteredOnchain: the registration contract's isRegistered.
  check('isRegisteredOnchain: Alice (registered on the contract)', await client.isRegisteredOnchain(alice) === true);
  check('isRegisteredOnchain: Carol (unknown)', await client.isRegisteredOnchain(carol) === false);

  // Alice (registered): ETH through the core's deposit(uint256,uint256,uint256), USDC through
  // approve + depositERC20. The engine picks both up from the contract's logs.
  const oneEth = BigNumber.from(10).pow(18);
  const before = await alice.ethSigner.getBalance();
  const ethDeposit = await client.deposit(alice.ethSigner, { type: 'ETH', amount: oneEth.toString() });
  const gas = await gasPaid(ethDeposit);
  check('deposit ETH: 1 ETH left Alice’s wallet (plus gas)',
    before.sub(await alice.ethSigner.getBalance()).eq(oneEth.add(gas)));
  await until('Alice’s ETH on StarkEx', async () => (await balanceOf(client, aliceAddr, 'ETH')) === oneEth.toString());
  const erc20 = new Contract(usdc, ['function balanceOf(address) view returns (uint256)'], provider);
  const usdcBefore = await erc20.balanceOf(aliceAddr);
  const usdcDeposit = await client.deposit(alice.ethSigner, { type: 'ERC20', tokenAddress: usdc, amount: '5000000' });
  await gasPaid(usdcDeposit);
  check('deposit ERC-20: 5 USDC left Alice’s wallet', usdcBefore.sub(await erc20.balanceOf(aliceAddr)).eq(5000000));
  await until('Alice’s USDC on StarkEx', async () => (await balanceOf(client, aliceAddr, 'USDC')) === '5000000');
  const deposits = await until('Alice’s deposits listed', async () => {
    const l = await client.listDeposits({ user: aliceAddr });
    return l.result.length === 2 && l.result.every((d) => d.status === 'success') ? l : null;
  });
  check('listDeposits: both of Alice’s deposits, succeeded', deposits.result.length === 2, deposits);

  // Carol, registered off-chain only: the client registers her on-chain with the operator's
  // signature in the same transaction as her deposit (registerAndDepositEth).
  await client.registerOffchain(carol);
  const tenth = oneEth.div(10);
  const carolDeposit = await client.deposit(carol.ethSigner, { type: 'ETH', amount: tenth.toString() });
  await gasPaid(carolDeposit);
  check('deposit ETH by an off-chain user registers her on the contract', await client.isRegisteredOnchain(carol) === true);
  await until('Carol’s ETH on StarkEx', async () => (await balanceOf(client, carolAddr, 'ETH')) === tenth.toString());

  // Withdrawals: Carol (now registered on-chain) through the core's withdraw; Dave (off-chain
  // only, paid by Alice on StarkEx) through the registration contract's registerAndWithdraw.
  await client.registerOffchain(dave);
  const toDave = await client.transfer(alice, { type: 'ETH', amount: tenth.toString(), receiver: daveAddr });
  check('transfer: 0.1 ETH from Alice to Dave on StarkEx', toDave.status === 'success', toDave);
  const half = tenth.div(2);
  const carolW = await client.prepareWithdrawal(carol, { type: 'ETH', amount: half.toString() });
  const daveW = await client.prepareWithdrawal(dave, { type: 'ETH', amount: tenth.toString() });
  const aliceW = await client.prepareWithdrawal(alice, { type: 'ERC20', tokenAddress: usdc, amount: '2000000' });
  check('prepareWithdrawal: Carol’s and Dave’s ETH, Alice’s USDC',
    [carolW, daveW, aliceW].every((w) => w.status === 'success'), [carolW, daveW, aliceW]);
  for (const [who, w] of [['Carol', carolW], ['Dave', daveW], ['Alice', aliceW]]) {
    await until(`${who}’s withdrawal confirmed on L1`, async () => {
      const r = await client.getWithdrawal({ id: String(w.withdrawal_id) });
      return r.rollup_status === 'confirmed';
    });
  }

  for (const [who, person, amount] of [['Carol', carol, half], ['Dave', dave, tenth]]) {
    const key = await person.starkSigner.getAddress();
    const wasRegistered = await client.isRegisteredOnchain(person);
    const b = await person.ethSigner.getBalance();
    const tx = await client.completeWithdrawal(person.ethSigner, key, { type: 'ETH' });
    const paid = await gasPaid(tx);
    check(`completeWithdrawal: ${who} received exactly ${amount} wei (${wasRegistered ? 'withdraw' : 'registerAndWithdraw'})`,
      (await person.ethSigner.getBalance()).sub(b).eq(amount.sub(paid)));
  }
  const usdcHeld = await erc20.balanceOf(aliceAddr);
  const usdcOut = await client.completeWithdrawal(alice.ethSigner, await alice.starkSigner.getAddress(),
    { type: 'ERC20', tokenAddress: usdc });
  await gasPaid(usdcOut);
  check('completeWithdrawal: Alice received exactly 2 USDC (ERC-20 withdraw)',
    (await erc20.balanceOf(aliceAddr)).sub(usdcHeld).eq(2000000));
  check('Dave is registered on the contract after his withdrawal', await client.isRegisteredOnchain(dave) === true);
  const b = await carol.ethSigner.getBalance();
  const again = await client.completeWithdrawal(carol.ethSigner, await carol.starkSigner.getAddress(), { type: 'ETH' });
  const paid = await gasPaid(again);
  check('a second completeWithdrawal pays nothing more (the pending balance is spent)',
    b.sub(await carol.ethSigner.getBalance()).eq(paid));
  console.log(`${passed} checks passed`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
