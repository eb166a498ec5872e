// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title StarkCurve
/// @notice Arithmetic on the STARK curve y^2 = x^3 + x + beta over p = 2^251 + 17*2^192 + 1:
/// ECDSA verification (StarkEx user registration) and the Pedersen hash (vault Merkle paths for
/// `escape`). Jacobian coordinates; a point at infinity has Z = 0. Written for starkroute's
/// local test deployments: correct and readable, not gas-optimised (a Pedersen hash costs
/// roughly 0.3M gas, where StarkWare's verifiers use precomputed tables).
library StarkCurve {
    uint256 internal constant P = 0x800000000000011000000000000000000000000000000000000000000000001;
    uint256 internal constant N = 0x800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2f;
    uint256 internal constant BETA = 0x6f21413efbe40de150e596d72f7a8c5609ad26c15c915c1f4cdfcb99cee9e89;
    uint256 internal constant GX = 0x1ef15c18599971b7beced415a40f0c7deacfd9b0d1819e03d723d8bc943cfca;
    uint256 internal constant GY = 0x5668060aa49730b7be4801df46ec62de53ecd11abe43a32873000c36e8dc1f;
    // The Pedersen shift point and the four constant points (starknet-crypto's SHIFT_POINT and
    // PEDERSEN_P0..P3).
    uint256 internal constant SX = 0x49ee3eba8c1600700ee1b87eb599f16716b0b1022947733551fde4050ca6804;
    uint256 internal constant SY = 0x3ca0cfe4b3bc6ddf346d49d06ea0ed34e621062c0e056c1d0405d266e10268a;
    uint256 internal constant P0X = 0x234287dcbaffe7f969c748655fca9e58fa8120b6d56eb0c1080d17957ebe47b;
    uint256 internal constant P0Y = 0x3b056f100f96fb21e889527d41f4e39940135dd7a6c94cc6ed0268ee89e5615;
    uint256 internal constant P1X = 0x4fa56f376c83db33f9dab2656558f3399099ec1de5e3018b7a6932dba8aa378;
    uint256 internal constant P1Y = 0x3fa0984c931c9e38113e0c0e47e4401562761f92a7a23b45168f4e80ff5b54d;
    uint256 internal constant P2X = 0x4ba4cc166be8dec764910f75b45f74b40c690c74709e90f3aa372f0bd2d6997;
    uint256 internal constant P2Y = 0x40301cf5c1751f4b971e46c4ede85fcac5c59a5ce5ae7c48151f27b24b219c;
    uint256 internal constant P3X = 0x54302dcb0e6cc1c6e44cca8f61a63bb2ca65048d53fb325d36ff12c49a58202;
    uint256 internal constant P3Y = 0x1b77b3e37d13504b348046268d8ae25ce98ad783c25561a879dcc77e99c2426;

    struct J {
        uint256 x;
        uint256 y;
        uint256 z;
    }

    function isOnCurve(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= P || y >= P) return false;
        uint256 rhs = addmod(addmod(mulmod(mulmod(x, x, P), x, P), x, P), BETA, P);
        return mulmod(y, y, P) == rhs;
    }

    function sub(uint256 a, uint256 b, uint256 m) private pure returns (uint256) {
        return addmod(a, m - (b % m), m);
    }

    function expmod(uint256 b, uint256 e, uint256 m) internal pure returns (uint256 r) {
        r = 1;
        b %= m;
        while (e > 0) {
            if (e & 1 == 1) r = mulmod(r, b, m);
            b = mulmod(b, b, m);
            e >>= 1;
        }
    }

    function double(J memory a) private pure returns (J memory) {
        if (a.z == 0 || a.y == 0) return J(0, 0, 0);
        uint256 yy = mulmod(a.y, a.y, P);
        uint256 zz = mulmod(a.z, a.z, P);
        uint256 s = mulmod(4, mulmod(a.x, yy, P), P);
        // M = 3 X^2 + alpha Z^4, alpha = 1.
        uint256 m = addmod(mulmod(3, mulmod(a.x, a.x, P), P), mulmod(zz, zz, P), P);
        uint256 x3 = sub(mulmod(m, m, P), mulmod(2, s, P), P);
        uint256 y3 = sub(mulmod(m, sub(s, x3, P), P), mulmod(8, mulmod(yy, yy, P), P), P);
        uint256 z3 = mulmod(2, mulmod(a.y, a.z, P), P);
        return J(x3, y3, z3);
    }

    /// a + (x2, y2) with (x2, y2) affine.
    function addAffine(J memory a, uint256 x2, uint256 y2) private pure returns (J memory) {
        if (a.z == 0) return J(x2, y2, 1);
        uint256 z1z1 = mulmod(a.z, a.z, P);
        uint256 u2 = mulmod(x2, z1z1, P);
        uint256 s2 = mulmod(y2, mulmod(a.z, z1z1, P), P);
        uint256 h = sub(u2, a.x, P);
        uint256 r = sub(s2, a.y, P);
        if (h == 0) {
            if (r == 0) return double(a);
            return J(0, 0, 0);
        }
        uint256 hh = mulmod(h, h, P);
        uint256 hhh = mulmod(h, hh, P);
        uint256 v = mulmod(a.x, hh, P);
        uint256 x3 = sub(sub(mulmod(r, r, P), hhh, P), mulmod(2, v, P), P);
        uint256 y3 = sub(mulmod(r, sub(v, x3, P), P), mulmod(a.y, hhh, P), P);
        return J(x3, y3, mulmod(a.z, h, P));
    }

    function toAffine(J memory a) private pure returns (uint256 x, uint256 y, bool infinity) {
        if (a.z == 0) return (0, 0, true);
        uint256 zi = expmod(a.z, P - 2, P);
        uint256 zi2 = mulmod(zi, zi, P);
        return (mulmod(a.x, zi2, P), mulmod(a.y, mulmod(zi2, zi, P), P), false);
    }

    /// k1 * (x1, y1) + k2 * (x2, y2), both points affine, scalars below 2^bits.
    function mul2(uint256 k1, uint256 x1, uint256 y1, uint256 k2, uint256 x2, uint256 y2, uint256 bits)
        private
        pure
        returns (J memory acc)
    {
        acc = J(0, 0, 0);
        for (uint256 i = bits; i > 0; i--) {
            acc = double(acc);
            if ((k1 >> (i - 1)) & 1 == 1) acc = addAffine(acc, x1, y1);
            if ((k2 >> (i - 1)) & 1 == 1) acc = addAffine(acc, x2, y2);
        }
    }

    /// Stark ECDSA: whether (r, s) signs msgHash for the public key (keyX, keyY). The caller
    /// checks the ranges of r and s and that the key is on the curve.
    function verify(uint256 msgHash, uint256 r, uint256 s, uint256 keyX, uint256 keyY) internal pure returns (bool) {
        if (msgHash >= (1 << 251)) return false;
        uint256 w = expmod(s, N - 2, N);
        if (w == 0 || w >= (1 << 251)) return false;
        uint256 u1 = mulmod(msgHash, w, N);
        uint256 u2 = mulmod(r, w, N);
        (uint256 x, , bool inf) = toAffine(mul2(u1, GX, GY, u2, keyX, keyY, 252));
        return !inf && x == r;
    }

    /// StarkWare's Pedersen hash H(a, b) of two field elements.
    function pedersen(uint256 a, uint256 b) internal pure returns (uint256) {
        uint256 low = (1 << 248) - 1;
        J memory acc = mul2(a & low, P0X, P0Y, b & low, P2X, P2Y, 248);
        // The top 4 bits of each element go with their own points: a_high * P1 + b_high * P3.
        J memory hi = mul2(a >> 248, P1X, P1Y, b >> 248, P3X, P3Y, 4);
        (uint256 hx, uint256 hy, bool hinf) = toAffine(hi);
        if (!hinf) acc = addAffine(acc, hx, hy);
        acc = addAffine(acc, SX, SY);
        (uint256 x, , ) = toAffine(acc);
        return x;
    }
}
