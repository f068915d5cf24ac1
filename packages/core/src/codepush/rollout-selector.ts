/**
 * CodePush's original rollout selector, reproduced for teams that migrate mid-rollout and need
 * the very same devices in a rollout as on their old server ("CodePush-exact" bucketing).
 *
 * Written from the description in `shared/reference/ota-and-codepush.md` §b.6: the string
 * `clientUniqueId + "-" + tag` is folded left to right, for every UTF-16 code unit `c`, as
 * `h = ToInt32(ToInt32(h) << 5) - h + c`. Only the shift's operand and result are truncated to
 * 32 bits, so `h` itself is *not* kept to 32 bits (a "proper" int32 hash disagrees on most
 * ids). A device is in the rollout iff `|h| % 100 < rollout`.
 *
 * Weakness (documented in the reference): labels `vN` and `vN+1` differ in one character, so
 * consecutive releases pick mostly the same devices. Halftone's default bucketing
 * (MurmurHash3 salted per release, see `bucket.ts`) does not have that problem.
 */

/**
 * The selector's hash of one string (a safe integer, possibly beyond 32 bits).
 *
 * @example
 * codePushRolloutHash('a-v1'); // 2936679
 * codePushRolloutHash('device-42-v1'); // -2077044237
 */
export function codePushRolloutHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    // `(h | 0) << 5` truncates the operand and the result to int32; the subtraction and the
    // addition are done on doubles, exactly as the original expression evaluates in JS.
    h = ((h | 0) << 5) - h + s.charCodeAt(i);
  }
  return h;
}

/**
 * The bucket 0..99 of a device for one release tag (the release's label).
 *
 * @example
 * codePushRolloutBucket('device-42', 'v1'); // 37
 */
export function codePushRolloutBucket(clientUniqueId: string, tag: string): number {
  return Math.abs(codePushRolloutHash(`${clientUniqueId}-${tag}`)) % 100;
}

/**
 * Whether a device is in a release's rollout of `rollout` percent, as the original server
 * decided it (`null`/`undefined` rollout = 100%).
 *
 * @example
 * isSelectedForCodePushRollout('device-42', 40, 'v1'); // true  (bucket 37)
 * isSelectedForCodePushRollout('device-42', 30, 'v1'); // false
 */
export function isSelectedForCodePushRollout(
  clientUniqueId: string,
  rollout: number | null | undefined,
  tag: string,
): boolean {
  if (rollout === null || rollout === undefined || rollout >= 100) return true;
  return codePushRolloutBucket(clientUniqueId, tag) < rollout;
}
