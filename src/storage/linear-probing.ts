// Deletion without tombstones in a linear-probing table (backward shift), for the
// record table's slots and the record cache's index.

/**
 * Whether the entry in cell j, whose home cell is `home`, stays where it is when
 * cell i, earlier in its probe run, is emptied: yes when home lies cyclically in
 * (i, j], so that a probe from home still reaches j without crossing i.
 */
export function staysPut(home: number, i: number, j: number): boolean {
  return i <= j ? home > i && home <= j : home > i || home <= j;
}
