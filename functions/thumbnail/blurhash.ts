/**
 * BlurHash encoder (the algorithm and base-83 alphabet of github.com/woltapp/blurhash): a DCT of the image in
 * linear light, quantised into a short string that clients decode into a blurred placeholder. Pure; input is
 * opaque sRGB pixels, three bytes each.
 */

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';

export function encodeBlurhash(rgb: Uint8Array, width: number, height: number, componentsX: number, componentsY: number): string {
  if (componentsX < 1 || componentsX > 9 || componentsY < 1 || componentsY > 9) throw new RangeError('blurhash components must be 1–9');
  if (rgb.length !== width * height * 3) throw new RangeError(`expected ${width * height * 3} bytes of RGB, got ${rgb.length}`);
  const linear = Float64Array.from(rgb, srgbToLinear);
  const factors: [number, number, number][] = [];
  for (let j = 0; j < componentsY; j += 1) {
    for (let i = 0; i < componentsX; i += 1) factors.push(component(linear, width, height, i, j));
  }
  const [dc, ...ac] = factors as [[number, number, number], ...[number, number, number][]];

  let hash = base83(componentsX - 1 + (componentsY - 1) * 9, 1);
  let maximum = 1;
  if (ac.length > 0) {
    const actual = Math.max(...ac.flat().map(Math.abs));
    const quantised = Math.max(0, Math.min(82, Math.floor(actual * 166 - 0.5)));
    maximum = (quantised + 1) / 166;
    hash += base83(quantised, 1);
  } else {
    hash += base83(0, 1);
  }
  hash += base83((linearToSrgb(dc[0]) << 16) + (linearToSrgb(dc[1]) << 8) + linearToSrgb(dc[2]), 4);
  for (const factor of ac) hash += base83(encodeAc(factor, maximum), 2);
  return hash;
}

function component(linear: Float64Array, width: number, height: number, i: number, j: number): [number, number, number] {
  const normalisation = i === 0 && j === 0 ? 1 : 2;
  let r = 0;
  let g = 0;
  let b = 0;
  for (let y = 0; y < height; y += 1) {
    const vertical = Math.cos((Math.PI * j * y) / height);
    for (let x = 0; x < width; x += 1) {
      const basis = normalisation * Math.cos((Math.PI * i * x) / width) * vertical;
      const at = (y * width + x) * 3;
      r += basis * linear[at]!;
      g += basis * linear[at + 1]!;
      b += basis * linear[at + 2]!;
    }
  }
  const scale = 1 / (width * height);
  return [r * scale, g * scale, b * scale];
}

function encodeAc([r, g, b]: readonly [number, number, number], maximum: number): number {
  const quantise = (value: number): number => Math.max(0, Math.min(18, Math.floor(signPow(value / maximum, 0.5) * 9 + 9.5)));
  return quantise(r) * 19 * 19 + quantise(g) * 19 + quantise(b);
}

function base83(value: number, length: number): string {
  let result = '';
  for (let i = 1; i <= length; i += 1) result += ALPHABET[Math.floor(value / 83 ** (length - i)) % 83];
  return result;
}

function srgbToLinear(value: number): number {
  const v = value / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function linearToSrgb(value: number): number {
  const v = Math.max(0, Math.min(1, value));
  return v <= 0.0031308 ? Math.trunc(v * 12.92 * 255 + 0.5) : Math.trunc((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5);
}

function signPow(value: number, exponent: number): number {
  return Math.sign(value) * Math.abs(value) ** exponent;
}
