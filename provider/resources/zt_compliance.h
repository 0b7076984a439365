/* zt_compliance.h - the platform's compliance mapping as data: each
 * control of NIS2 (Article 21(2)), ISO/IEC 27001:2022 Annex A and the EU
 * AI Act that the platform's resources help implement, and which composite
 * nodes implement it. docs/compliance.md gives the sources and the limits
 * (a resource is evidence that a measure is in place, not of compliance). */
#ifndef ZT_COMPLIANCE_H
#define ZT_COMPLIANCE_H

#include "zt_composite.h"

typedef struct zt_compliance_control {
    const char *id;      /* "NIS2-21.2.b", "ISO27001-A.8.15", "EUAIA-12" */
    const char *title;
    /* "<composite type>:<node key>", a trailing '*' matching any node key
     * with that prefix; NULL-terminated. */
    const char *const *implementers;
} zt_compliance_control;

extern const zt_compliance_control zt_compliance_controls[];
extern const size_t zt_compliance_n_controls;

/* The compliance_evidence output of a composite: control ID -> the ARM IDs
 * of its node instances that implement the control (controls it has none
 * for are left out); NULL while an ID is unknown. */
const zt_cty_value *zt_compliance_evidence(const zt_comp_eval *ev);

#endif
