/* test-units.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include "imp-recording-private.h"

typedef struct
{
  const char *unit;
  const char *canonical;
  double      factor;
} UnitCase;

/* Factors from the SI prefixes: 1 V = 1000 mV, 1 A = 1e12 pA, ... */
static const UnitCase cases[] = {
  { "V",        "mV", 1.0e3 },
  { "mV",       "mV", 1.0 },
  { "uV",       "mV", 1.0e-3 },
  { "\xc2\xb5V", "mV", 1.0e-3 },   /* µV, MICRO SIGN */
  { "\xce\xbcV", "mV", 1.0e-3 },   /* μV, GREEK SMALL LETTER MU */
  { "nV",       "mV", 1.0e-6 },
  { "kV",       "mV", 1.0e6 },
  { "volts",    "mV", 1.0e3 },
  { "Volts",    "mV", 1.0e3 },
  { "millivolts", "mV", 1.0 },
  { " mV ",     "mV", 1.0 },
  { "mv",       "mV", 1.0 },
  { "A",        "pA", 1.0e12 },
  { "mA",       "pA", 1.0e9 },
  { "uA",       "pA", 1.0e6 },
  { "nA",       "pA", 1.0e3 },
  { "pA",       "pA", 1.0 },
  { "fA",       "pA", 1.0e-3 },
  { "amperes",  "pA", 1.0e12 },
  { "amps",     "pA", 1.0e12 },
  { "pa",       "pA", 1.0 },
};

static void
test_known (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *canonical = NULL;
      double factor = _imp_unit_normalise (cases[i].unit, &canonical);

      g_test_message ("%s -> %s × %g", cases[i].unit, canonical, factor);
      g_assert_cmpstr (canonical, ==, cases[i].canonical);
      g_assert_cmpfloat_with_epsilon (factor, cases[i].factor,
                                      cases[i].factor * 1e-12);
    }
}

static void
test_passthrough (void)
{
  static const char *others[] = {
    "degC", "Hz", "MV", "Pa", "mmHg", "unknown", "S", "%",
  };
  const char *canonical = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_assert_cmpfloat (_imp_unit_normalise (others[i], &canonical), ==, 1.0);
      g_assert_true (canonical == others[i]);
    }

  g_assert_cmpfloat (_imp_unit_normalise ("", &canonical), ==, 1.0);
  g_assert_cmpstr (canonical, ==, "");
  g_assert_cmpfloat (_imp_unit_normalise (NULL, &canonical), ==, 1.0);
  g_assert_cmpstr (canonical, ==, "");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imp/Units/known", test_known);
  g_test_add_func ("/imp/Units/passthrough", test_passthrough);

  return g_test_run ();
}
