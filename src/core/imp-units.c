/* imp-units.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "imp-recording-private.h"

/* Voltages are shown in mV (membrane potential) and currents in pA (patch
 * clamp), whatever the file stores; everything else passes through. */

typedef struct
{
  const char *name;
  double      to_si;  /* multiply a value in this unit by this to get SI */
} Prefix;

/* Spelled-out units as NWB and some amplifiers write them, compared
 * without regard to case. */
typedef struct
{
  const char *word;
  char        base;   /* 'V' or 'A' */
  double      to_si;
} Word;

static const Prefix prefixes[] = {
  { "",        1.0 },
  { "k",       1.0e3 },
  { "m",       1.0e-3 },
  { "u",       1.0e-6 },
  { "\xc2\xb5", 1.0e-6 },  /* MICRO SIGN */
  { "\xce\xbc", 1.0e-6 },  /* GREEK SMALL LETTER MU */
  { "n",       1.0e-9 },
  { "p",       1.0e-12 },
  { "f",       1.0e-15 },
};

static const Word words[] = {
  { "volt",        'V', 1.0 },
  { "volts",       'V', 1.0 },
  { "millivolt",   'V', 1.0e-3 },
  { "millivolts",  'V', 1.0e-3 },
  { "microvolt",   'V', 1.0e-6 },
  { "microvolts",  'V', 1.0e-6 },
  { "amp",         'A', 1.0 },
  { "amps",        'A', 1.0 },
  { "ampere",      'A', 1.0 },
  { "amperes",     'A', 1.0 },
  { "milliampere", 'A', 1.0e-3 },
  { "milliamperes",'A', 1.0e-3 },
  { "microampere", 'A', 1.0e-6 },
  { "microamperes",'A', 1.0e-6 },
  { "nanoampere",  'A', 1.0e-9 },
  { "nanoamperes", 'A', 1.0e-9 },
  { "nanoamp",     'A', 1.0e-9 },
  { "nanoamps",    'A', 1.0e-9 },
  { "picoampere",  'A', 1.0e-12 },
  { "picoamperes", 'A', 1.0e-12 },
  { "picoamp",     'A', 1.0e-12 },
  { "picoamps",    'A', 1.0e-12 },
};

static double
canonical_factor (char         base,
                  double       to_si,
                  const char **canonical)
{
  if (base == 'V')
    {
      *canonical = "mV";
      return to_si / 1.0e-3;
    }
  *canonical = "pA";
  return to_si / 1.0e-12;
}

/**
 * _imp_unit_normalise:
 * @unit: (nullable): a unit as a file spells it: "V", "mV", "µV",
 *   "volts", "A", "nA", "pA", "amperes", ...
 * @canonical: (out): the unit values are shown in
 *
 * Voltages become mV and currents pA; a value v in @unit is v × factor in
 * *@canonical. Anything else (including %NULL and "") passes through with
 * factor 1 and *@canonical = @unit (or "" for %NULL).
 *
 * Returns: the factor
 */
double
_imp_unit_normalise (const char  *unit,
                     const char **canonical)
{
  g_autofree char *trimmed = NULL;
  gsize len;

  g_assert (canonical != NULL);

  *canonical = unit != NULL ? unit : "";
  if (unit == NULL)
    return 1.0;

  trimmed = g_strstrip (g_strdup (unit));
  len = strlen (trimmed);
  if (len == 0)
    return 1.0;

  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    {
      if (g_ascii_strcasecmp (trimmed, words[i].word) == 0)
        return canonical_factor (words[i].base, words[i].to_si, canonical);
    }

  /* A prefix (case matters: "m" is milli) and a one-letter base. The base
   * may be lower case ("mv", "pa"), which some acquisition programs write;
   * a bare "a" or "v" is accepted too. */
  for (guint i = 0; i < G_N_ELEMENTS (prefixes); i++)
    {
      gsize plen = strlen (prefixes[i].name);
      char base;

      if (len != plen + 1 || strncmp (trimmed, prefixes[i].name, plen) != 0)
        continue;
      base = g_ascii_toupper (trimmed[plen]);
      if (base == 'V' || base == 'A')
        return canonical_factor (base, prefixes[i].to_si, canonical);
    }

  return 1.0;
}
