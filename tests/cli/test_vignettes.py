"""Clinical vignettes played through ``triage run``, as a triage nurse would type them.

Each vignette is written from a public page the protocol's header cites (named in the
vignette): one clearly emergent, one at a threshold of the source (both sides where the
source gives a number), one benign, and "does not know" answers, which must err to the
more urgent outcome and say so in the note. They are played through the interview
itself (the questions it chooses, the text the nurse types), and one per protocol through
the real command with its input piped.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vignettes import AT, ROOT, Vignette, play, protocol_at

T = "telephone/"
PW = "pathways/"
NOT_PREGNANT = {"pregnancy_status": "3"}  # "Neither"

NHS_APPENDIX = "NHS, Appendicitis https://www.nhs.uk/conditions/appendicitis/"
NHS_INFORM_ABDO = "NHS inform, Stomach ache https://quarrysidepractice.gp.scot/health-information/stomach-ache-and-abdominal-pain"
NHS_ANAPHYLAXIS = "NHS, Anaphylaxis https://www.nhs.uk/conditions/anaphylaxis/"
NHS_BREATH = "NHS, Shortness of breath https://www.nhs.uk/conditions/shortness-of-breath/"
NHS_OXIMETER = (
    "NHS England, pulse oximeter at home https://gpdirect.co.uk/how-to-use-a-pulse-oximeter-at-home/"
)
CG95 = "NICE CG95 1.2.1 (GPnotebook summary) https://gpnotebook.com/pages/respiratory-and-chest-medicine/assessment-and-diagnosis-of-recent-onset-chest-pain-or-discomfort-of-suspected-cardiac-origin/initial-assessment-and-referral-to-hospital-of-possible-acute-chest-pain-of-cardiac-origin"
NG143 = "NICE NG143 traffic light (NASGP copy) https://www.nasgp.org.uk/clinical-guidelines/paediatrics/traffic-light-system-for-identifying-risk-of-serious-illness/"
NG143_B = "NICE NG143 traffic light (bpac copy: age 0-3 months >= 38 C, 3-6 months >= 39 C) https://bpac.org.nz/bpj/2010/july/fever.aspx"
NG232 = "NICE head injury, telephone advice services (1.1.2-1.1.3) https://brainscape.com/flashcards/nice-guidelines-on-head-injury-7048700/packs/11307540"
NHS_HEADACHE = "NHS, Headaches https://limelighthealthhub.nhs.uk/health-a-to-z/headaches/"
CG150 = "NICE CG150 1.1.1, maximum intensity within 5 minutes (GPnotebook summary) https://gpnotebook.com/pages/neurology/nice-summary-headache-features-when-it-is-suggested-that-investigation-or-referral-is-required-in-children-12-years-or-older-and-adults"
POISON = "Mayo Clinic, Poisoning first aid https://www.mymlc.com/health-information/articles/p/poisoning-first-aid/"
SAMHSA = "SAMHSA, Suicide and suicidal behavior https://www.samhsa.gov/mental-health/suicidal-behavior"
SASK = (
    "Saskatchewan Health Authority, Surgical site infections (chills and fever higher than 38 C;"
    " chest pain or difficulty breathing)"
    " https://rqhealth.ca/department/regional-infection-prevention-and-control/surgical-site-infections"
)
NG51 = "NICE NG51 sepsis, temperature below 36 C a moderate-to-high risk criterion https://www.nice.org.uk/guidance/ng51"
CDC_HEAR_HER = (
    "CDC Hear Her https://www.cdc.gov/hearher/resources/news-media/recognizing-urgent-warning-signs.html"
)
KICKS = "Kicks Count, Signs of premature labour (before 37 weeks) https://www.kickscount.org.uk/signs-of-premature-labour"
STW_MOVEMENTS = "NHS STW Healthier Together, Reduced baby movements after the 24th week https://stw-healthiertogether.nhs.uk/pregnant-women/worried-you-are-unwell-during-pregnancy/reduced-baby-movements-after-24th-week-pregnancy"
NHS_DV = "NHS, Diarrhoea and vomiting https://bridgwaterbayhealth.nhs.uk/diarrhoea-and-vomiting"
NHS_DEHYD = (
    "NHS 111 Wales, Dehydration https://www.nhsdirect.wales.nhs.uk/encyclopaedia/d/article/dehydration/"
)
MAHLER = "Mahler 2015, HEART Pathway (MDCalc) https://www.mdcalc.com/heart-pathway-early-discharge-acute-chest-pain"
ESI4 = "ESI v4 handbook ch. 5, danger-zone vital signs https://saludequitativa.blogspot.com/2015/08/chapter-5-role-of-vital-signs-in-esi.html"
OTTAWA = "Stiell 1992-93, Ottawa ankle rules (excluded groups) https://wikimili.com/en/Ottawa_ankle_rules"
CG191 = "NICE CG191 CRB-65 / CURB-65 https://www.nice.org.uk/guidance/cg191/chapter/Recommendations"
MCISAAC = "McIsaac 1998 https://www.cmaj.ca/content/158/1/75"
ETG = "eTG, Sore throat: does the patient need hospitalisation? https://etg-complete-oxy.netlify.app/antibiotic/sore_throat/c_abg_sore_throat_topic_4"

ADULT = {"patient_age": "34 years"}

VIGNETTES = [
    # ---------------------------------------------------------------- abdominal pain
    Vignette(
        T + "abdominal_pain_adult.triage",
        "appendicitis: pain suddenly spreading across the tummy",
        NHS_APPENDIX,
        {**ADULT, "pain_spreads_suddenly": "yes"},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "abdominal_pain_adult.triage",
        "pain that will not go away, nothing else",
        NHS_APPENDIX,
        {**ADULT, "pain_constant": "yes"},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "abdominal_pain_adult.triage",
        "mild ache, no warning sign",
        NHS_INFORM_ABDO,
        ADULT,
        "stomach_ache_home_care",
        "home_care",
    ),
    Vignette(
        T + "abdominal_pain_adult.triage",
        "does not know whether she could be pregnant",
        NHS_INFORM_ABDO,
        {"patient_age": "24 years", "pregnant": "?"},
        "ed_now",
        "urgent",
    ),
    # ---------------------------------------------------------------- allergic reaction
    Vignette(
        T + "allergic_reaction.triage",
        "swollen lips and tongue after peanuts",
        NHS_ANAPHYLAXIS,
        {"mouth_throat_swelling": "yes"},
        "anaphylaxis_call_911",
        "emergency",
    ),
    Vignette(
        T + "allergic_reaction.triage",
        "hives for two days or more, not improving",
        NHS_ANAPHYLAXIS,
        {
            "rash_present": "yes",
            "rash_two_days_or_more": "yes",
            "rash_not_improving": "yes",
            "patient_age_years": "30",
        },
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "allergic_reaction.triage",
        "hives since last night, settling",
        NHS_ANAPHYLAXIS,
        {"rash_present": "yes", "patient_age_years": "30"},
        "allergy_home_care",
        "home_care",
    ),
    # ---------------------------------------------------------------- breathing
    Vignette(
        T + "breathing_difficulty_adult.triage",
        "oximeter reads 92%: at the threshold",
        NHS_OXIMETER,
        {"has_oximeter_reading": "yes", "spo2": "92", "patient_age_years": "40", "sudden_onset": "no"},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "breathing_difficulty_adult.triage",
        "oximeter reads 93%: just above",
        NHS_OXIMETER,
        {"has_oximeter_reading": "yes", "spo2": "93", "patient_age_years": "40", "sudden_onset": "no"},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "breathing_difficulty_adult.triage",
        "oximeter 96%, passing breathlessness",
        NHS_BREATH,
        {"has_oximeter_reading": "yes", "spo2": "96.0", "patient_age_years": "40", "sudden_onset": "no"},
        "breathless_home_care",
        "home_care",
    ),
    # ---------------------------------------------------------------- chest pain
    Vignette(
        T + "chest_pain_adult.triage",
        "tight chest pain now, 20 minutes",
        CG95,
        {
            "cp_pain_now": "yes",
            "pain_minutes": "20",
            "chest_tight_heavy": "yes",
            "patient_age_years": "58",
            **NOT_PREGNANT,
        },
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "chest_pain_adult.triage",
        "pain 20 minutes, stopped exactly 12 hours ago",
        CG95,
        {"hours_since_pain": "12", "pain_minutes": "20", "patient_age_years": "58", **NOT_PREGNANT},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "chest_pain_adult.triage",
        "pain 20 minutes, stopped 12.5 hours ago",
        CG95,
        {"hours_since_pain": "12.5", "pain_minutes": "20", "patient_age_years": "58", **NOT_PREGNANT},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "chest_pain_adult.triage",
        "pain 20 minutes, stopped 72 hours ago",
        CG95,
        {"hours_since_pain": "72", "pain_minutes": "20", "patient_age_years": "58", **NOT_PREGNANT},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "chest_pain_adult.triage",
        "does not know when the pain stopped",
        CG95,
        {"hours_since_pain": "?", "pain_minutes": "20", "patient_age_years": "58", **NOT_PREGNANT},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "chest_pain_adult.triage",
        "one twinge of a minute, ten days ago",
        CG95,
        {"hours_since_pain": "240", "pain_minutes": "1", "patient_age_years": "30", **NOT_PREGNANT},
        "routine_chest_pain",
        "routine",
    ),
    # ---------------------------------------------------------------- fever in a child
    Vignette(
        T + "fever_child.triage",
        "non-blanching rash with fever",
        NG143,
        {"child_age": "2 years", "non_blanching_rash": "yes"},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "fever_child.triage",
        "10-week-old at exactly 38.0 C",
        NG143_B,
        {"child_age": "10 weeks", "temperature_c": "38.0"},
        "ed_now",
        "urgent",
    ),
    Vignette(
        T + "fever_child.triage",
        "11-week-old given by date of birth, 38.1 C",
        NG143_B,
        {"child_age": "2026-09-15", "temperature_c": "38.1"},
        "ed_now",
        "urgent",
    ),
    Vignette(
        T + "fever_child.triage",
        "10-week-old at 37.9 C: below the fever threshold",
        NG143_B,
        {"child_age": "10 weeks", "temperature_c": "37.9", "fever_started": "6 hours"},
        "fever_home_care",
        "home_care",
    ),
    Vignette(
        T + "fever_child.triage",
        "4-month-old at 39.0 C (amber)",
        NG143_B,
        {"child_age": "4 months", "temperature_c": "39.0", "fever_started": "6 hours"},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "fever_child.triage",
        "4-month-old at 38.9 C (green)",
        NG143_B,
        {"child_age": "4 months", "temperature_c": "38.9", "fever_started": "6 hours"},
        "fever_home_care",
        "home_care",
    ),
    Vignette(
        T + "fever_child.triage",
        "4-month-old, temperature not taken: errs to the 3-6 month amber line",
        NG143_B,
        {"child_age": "4 months", "temperature_c": "?", "fever_started": "6 hours"},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "fever_child.triage",
        "3-year-old, fever for 5 days (amber)",
        NG143,
        {"child_age": "3 years", "temperature_c": "38.4", "fever_started": "5 days"},
        "see_today",
        "same_day",
    ),
    # ---------------------------------------------------------------- head injury
    Vignette(
        T + "head_injury.triage", "a fit since the injury", NG232, {"seizure": "yes"}, "call_911", "emergency"
    ),
    Vignette(
        T + "head_injury.triage",
        "knocked out, now awake",
        NG232,
        {"knocked_out_now_awake": "yes", "patient_age_years": "30"},
        "ed_now",
        "urgent",
    ),
    Vignette(
        T + "head_injury.triage",
        "does not know whether knocked out",
        NG232,
        {"knocked_out_now_awake": "?", "patient_age_years": "30"},
        "ed_now",
        "urgent",
    ),
    Vignette(
        T + "head_injury.triage",
        "does not know the height of the fall",
        NG232,
        {"fell_from_height": "?", "patient_age_years": "30"},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "head_injury.triage",
        "bumped head, no risk factor",
        NG232,
        {"patient_age_years": "30"},
        "head_injury_home_care",
        "home_care",
    ),
    # ---------------------------------------------------------------- headache
    Vignette(
        T + "headache_adult.triage",
        "sudden, extremely painful headache",
        NHS_HEADACHE,
        {"sudden_onset": "yes", "pain_severity": "4"},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "headache_adult.triage",
        "sudden moderate headache, worst within 5 minutes",
        CG150,
        {
            "sudden_onset": "yes",
            "pain_severity": "2",
            "minutes_to_peak": "5",
            "patient_age_years": "40",
            **NOT_PREGNANT,
        },
        "ed_now",
        "urgent",
    ),
    Vignette(
        T + "headache_adult.triage",
        "sudden moderate headache, worst after 6 minutes",
        CG150,
        {
            "sudden_onset": "yes",
            "pain_severity": "2",
            "minutes_to_peak": "6",
            "patient_age_years": "40",
            **NOT_PREGNANT,
        },
        "headache_home_care",
        "home_care",
    ),
    Vignette(
        T + "headache_adult.triage",
        "does not know how fast it peaked",
        CG150,
        {
            "sudden_onset": "yes",
            "pain_severity": "2",
            "minutes_to_peak": "?",
            "patient_age_years": "40",
            **NOT_PREGNANT,
        },
        "ed_now",
        "urgent",
    ),
    Vignette(
        T + "headache_adult.triage",
        "stiff neck, does not know about a fever",
        NHS_HEADACHE,
        {
            "pain_severity": "2",
            "has_fever": "?",
            "stiff_neck": "yes",
            "patient_age_years": "30",
            **NOT_PREGNANT,
        },
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "headache_adult.triage",
        "mild tension headache",
        NHS_HEADACHE,
        {"pain_severity": "1", "has_fever": "no", "patient_age_years": "30", **NOT_PREGNANT},
        "headache_home_care",
        "home_care",
    ),
    # ---------------------------------------------------------------- medication
    Vignette(
        T + "medication_question.triage",
        "took an overdose on purpose",
        POISON,
        {**ADULT, "intentional_overdose": "yes"},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "medication_question.triage",
        "took too much by mistake",
        POISON,
        {**ADULT, "took_too_much": "yes"},
        "call_poison_help",
        "urgent",
    ),
    Vignette(
        T + "medication_question.triage",
        "missed insulin dose, no sign of ketoacidosis",
        POISON,
        {**ADULT, "how_to_take": "yes", "missed_dose_medicine": "1"},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "medication_question.triage",
        "missed a statin",
        POISON,
        {**ADULT, "how_to_take": "yes", "missed_dose_medicine": "4"},
        "see_within_24h",
        "within_24h",
    ),
    # ---------------------------------------------------------------- mental health
    Vignette(
        T + "mental_health_crisis.triage",
        "has taken an overdose",
        SAMHSA,
        {**ADULT, "harmed_or_overdose": "yes"},
        "crisis_call_911",
        "emergency",
    ),
    Vignette(
        T + "mental_health_crisis.triage",
        "thoughts of suicide with a plan",
        SAMHSA,
        {**ADULT, "suicidal_thoughts": "yes", "has_plan": "yes"},
        "crisis_ed_now",
        "urgent",
    ),
    Vignette(
        T + "mental_health_crisis.triage",
        "caller does not know about suicidal thoughts",
        SAMHSA,
        {**ADULT, "suicidal_thoughts": "?", "about_to_act": "no"},
        "crisis_callback_today",
        "same_day",
    ),
    Vignette(
        T + "mental_health_crisis.triage",
        "withdrawn, sleeping badly, no thoughts of suicide",
        SAMHSA,
        {**ADULT, "withdrawn_sleep_mood": "yes"},
        "crisis_callback_today",
        "same_day",
    ),
    # ---------------------------------------------------------------- post-operative
    Vignette(
        T + "post_operative_concern.triage",
        "chest pain and breathless after an operation",
        SASK,
        {"patient_age": "60 years", "chest_pain_breathless": "yes"},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "post_operative_concern.triage",
        "temperature exactly 38.0 C",
        SASK,
        {"patient_age": "60 years", "temperature_c": "38.0"},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "post_operative_concern.triage",
        "temperature 37.9 C",
        SASK,
        {"patient_age": "60 years", "temperature_c": "37.9"},
        "post_op_home_care",
        "home_care",
    ),
    Vignette(
        T + "post_operative_concern.triage",
        "temperature 35.9 C",
        NG51,
        {"patient_age": "60 years", "temperature_c": "35.9"},
        "ed_now",
        "urgent",
    ),
    Vignette(
        T + "post_operative_concern.triage",
        "temperature 36.0 C",
        NG51,
        {"patient_age": "60 years", "temperature_c": "36.0"},
        "post_op_home_care",
        "home_care",
    ),
    # Open in docs/safety/hazard-log.md: an unknown temperature never reaches the NG51
    # "below 36 C" criterion. Pinned as it is, so a decision to change it shows here.
    Vignette(
        T + "post_operative_concern.triage",
        "does not know the temperature, not feverish (hazard log: open)",
        NG51,
        {"patient_age": "60 years", "temperature_c": "?"},
        "post_op_home_care",
        "home_care",
    ),
    # ---------------------------------------------------------------- pregnancy
    Vignette(
        T + "pregnancy_concern.triage",
        "heavy bleeding at 30 weeks",
        CDC_HEAR_HER,
        {"stage": "1", "weeks_pregnant": "30", "heavy_bleeding": "yes"},
        "call_911",
        "emergency",
    ),
    Vignette(
        T + "pregnancy_concern.triage",
        "period-like cramps at 36 weeks 6 days (36.9)",
        KICKS,
        {"stage": "1", "weeks_pregnant": "36.9", "period_like_cramps": "yes"},
        "maternity_unit_now",
        "urgent",
    ),
    Vignette(
        T + "pregnancy_concern.triage",
        "period-like cramps at 36+6, typed as the maternity notes write it",
        KICKS,
        {"stage": "1", "weeks_pregnant": "36+6", "period_like_cramps": "yes"},
        "maternity_unit_now",
        "urgent",
    ),
    Vignette(
        T + "pregnancy_concern.triage",
        "does not know how many weeks, with cramps",
        KICKS,
        {"stage": "1", "weeks_pregnant": "?", "period_like_cramps": "yes"},
        "maternity_unit_now",
        "urgent",
    ),
    Vignette(
        T + "pregnancy_concern.triage",
        "reduced movements at 24 weeks",
        STW_MOVEMENTS,
        {"stage": "1", "weeks_pregnant": "24", "movements_reduced": "yes"},
        "maternity_unit_now",
        "urgent",
    ),
    Vignette(
        T + "pregnancy_concern.triage",
        "well at 20 weeks, a question",
        CDC_HEAR_HER,
        {"stage": "1", "weeks_pregnant": "20"},
        "pregnancy_home_care",
        "home_care",
    ),
    # ---------------------------------------------------------------- vomiting and diarrhoea
    Vignette(
        T + "vomiting_diarrhea_dehydration.triage",
        "vomiting blood",
        NHS_DV,
        {"patient_age": "40 years", "vomit_blood": "yes"},
        "ed_now",
        "urgent",
    ),
    Vignette(
        T + "vomiting_diarrhea_dehydration.triage",
        "no urine for 18 hours",
        NHS_DEHYD,
        {"patient_age": "40 years", "last_urine": "18 hours"},
        "ed_now",
        "urgent",
    ),
    Vignette(
        T + "vomiting_diarrhea_dehydration.triage",
        "no urine for 17 hours",
        NHS_DEHYD,
        {"patient_age": "40 years", "last_urine": "17 hours"},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "vomiting_diarrhea_dehydration.triage",
        "no urine for 8 hours",
        NHS_DEHYD,
        {"patient_age": "40 years", "last_urine": "8 hours"},
        "see_today",
        "same_day",
    ),
    Vignette(
        T + "vomiting_diarrhea_dehydration.triage",
        "no urine for 450 minutes (7.5 hours)",
        NHS_DEHYD,
        {"patient_age": "40 years", "last_urine": "450 minutes"},
        "dv_home_care",
        "home_care",
    ),
    Vignette(
        T + "vomiting_diarrhea_dehydration.triage",
        "does not know when they last passed urine",
        NHS_DEHYD,
        {"patient_age": "40 years", "last_urine": "?"},
        "ed_now",
        "urgent",
    ),
    # ---------------------------------------------------------------- HEART pathway
    Vignette(
        PW + "heart_pathway.triage",
        "ST elevation",
        MAHLER,
        {"st_elevation": "yes"},
        "stemi_or_unstable",
        "emergency",
    ),
    Vignette(
        PW + "heart_pathway.triage",
        "HEART 2 but troponin 1.01 x the limit",
        MAHLER,
        {
            "troponin_3h_ratio": "0.5",
            "history": "1",
            "ecg": "1",
            "age": "40",
            "known_atherosclerotic_disease": "no",
            "risk_factor_count": "0",
            "troponin_ratio": "1.01",
        },
        "not_low_risk",
        "urgent",
    ),
    Vignette(
        PW + "heart_pathway.triage",
        "HEART 2, troponins 1.0 and 0.5 x the limit",
        MAHLER,
        {
            "troponin_3h_ratio": "0.5",
            "history": "1",
            "ecg": "1",
            "age": "40",
            "known_atherosclerotic_disease": "no",
            "risk_factor_count": "0",
            "troponin_ratio": "1.0",
        },
        "early_discharge_candidate",
        "routine",
    ),
    Vignette(
        PW + "heart_pathway.triage",
        "HEART 4 (moderate): not low risk",
        MAHLER,
        {
            "troponin_3h_ratio": "0.5",
            "history": "3",
            "ecg": "3",
            "age": "40",
            "known_atherosclerotic_disease": "no",
            "risk_factor_count": "0",
            "troponin_ratio": "0.5",
        },
        "not_low_risk",
        "urgent",
    ),
    Vignette(
        PW + "heart_pathway.triage",
        "3-hour troponin not known",
        MAHLER,
        {
            "troponin_3h_ratio": "?",
            "history": "1",
            "ecg": "1",
            "age": "40",
            "known_atherosclerotic_disease": "no",
            "risk_factor_count": "0",
            "troponin_ratio": "0.5",
        },
        "not_low_risk",
        "urgent",
    ),
    # ---------------------------------------------------------------- ESI pathway
    Vignette(
        PW + "esi_pathway.triage",
        "needs intubation",
        ESI4,
        {"lifesaving_intervention": "yes"},
        "esi_1",
        "emergency",
    ),
    Vignette(
        PW + "esi_pathway.triage",
        "infant 2.9 months at 38.0 C",
        ESI4,
        {"pain_score": "0", "age_months": "2.9", "temp_c": "38.0"},
        "esi_2",
        "urgent",
    ),
    Vignette(PW + "esi_pathway.triage", "pain 7 of 10", ESI4, {"pain_score": "7"}, "esi_2", "urgent"),
    Vignette(
        PW + "esi_pathway.triage",
        "adult, two resources, heart rate 100",
        ESI4,
        {
            "pain_score": "4",
            "age_months": "360",
            "resources": "2",
            "spo2": "98",
            "heart_rate": "100",
            "resp_rate": "20",
        },
        "esi_3",
        "same_day",
    ),
    Vignette(
        PW + "esi_pathway.triage",
        "adult, two resources, heart rate 101",
        ESI4,
        {
            "pain_score": "4",
            "age_months": "360",
            "resources": "2",
            "spo2": "98",
            "heart_rate": "101",
            "resp_rate": "20",
        },
        "esi_2",
        "urgent",
    ),
    Vignette(
        PW + "esi_pathway.triage",
        "adult sprain, no resources, normal vital signs",
        ESI4,
        {
            "pain_score": "4",
            "age_months": "360",
            "resources": "0.0",
            "spo2": "98",
            "heart_rate": "80",
            "resp_rate": "16",
        },
        "esi_5",
        "routine",
    ),
    # ---------------------------------------------------------------- Ottawa pathway
    Vignette(
        PW + "ottawa_ankle_pathway.triage",
        "intoxicated: the rule does not apply",
        OTTAWA,
        {"intoxicated": "yes"},
        "rule_not_applicable",
        "same_day",
    ),
    Vignette(
        PW + "ottawa_ankle_pathway.triage",
        "malleolar pain, lateral malleolus tender",
        OTTAWA,
        {"malleolar_zone_pain": "yes", "lateral_malleolus_tenderness": "yes"},
        "xray_ankle",
        "same_day",
    ),
    Vignette(
        PW + "ottawa_ankle_pathway.triage", "no pain in either zone", OTTAWA, {}, "no_xray", "home_care"
    ),
    # ---------------------------------------------------------------- pneumonia severity
    Vignette(
        PW + "pneumonia_severity_pathway.triage",
        "CURB-65 of 3",
        CG191,
        {"confusion": "yes", "urea_mmol_l": "7.1", "resp_rate": "20", "sbp": "120", "dbp": "80", "age": "70"},
        "high_risk",
        "emergency",
    ),
    Vignette(
        PW + "pneumonia_severity_pathway.triage",
        "every value just outside its point",
        CG191,
        {"confusion": "no", "urea_mmol_l": "7.0", "resp_rate": "29", "sbp": "90", "dbp": "61", "age": "64"},
        "low_risk",
        "same_day",
    ),
    Vignette(
        PW + "pneumonia_severity_pathway.triage",
        "no urea: CRB-65 of 1 (age 65)",
        CG191,
        {"confusion": "no", "urea_mmol_l": "?", "resp_rate": "20", "sbp": "120", "dbp": "80", "age": "65"},
        "crb65_discuss_care",
        "same_day",
    ),
    # ---------------------------------------------------------------- sore throat
    Vignette(
        PW + "sore_throat_pathway.triage", "stridor", ETG, {"stridor": "yes"}, "airway_emergency", "emergency"
    ),
    Vignette(
        PW + "sore_throat_pathway.triage",
        "McIsaac 4 at age 10",
        MCISAAC,
        {
            "age": "10",
            "temp_c": "38.1",
            "cough": "no",
            "tender_anterior_nodes": "yes",
            "tonsillar_swelling_or_exudate": "no",
        },
        "test_and_consider_treatment",
        "same_day",
    ),
    Vignette(
        PW + "sore_throat_pathway.triage",
        "age 15 at 38.0 C, no cough: McIsaac 1",
        MCISAAC,
        {
            "age": "15",
            "temp_c": "38.0",
            "cough": "no",
            "tender_anterior_nodes": "no",
            "tonsillar_swelling_or_exudate": "no",
        },
        "no_test",
        "home_care",
    ),
    Vignette(
        PW + "sore_throat_pathway.triage",
        "age 2: the score is not validated",
        MCISAAC,
        {"age": "2"},
        "not_applicable",
        "same_day",
    ),
]


def _id(v: Vignette) -> str:
    return f"{Path(v.protocol).stem}: {v.name}"


@pytest.mark.parametrize("v", VIGNETTES, ids=_id)
def test_vignette_gives_the_sources_disposition(v: Vignette) -> None:
    assert "https://" in v.source  # every vignette names the page it is written from
    played = play(v)
    assert (played.disposition, played.tier) == (v.disposition, v.tier), played.transcript[-3000:]
    assert played.code == 0
    assert "Reason: " in played.transcript  # the note explains the result
    assert "Traceback" not in played.transcript
    result = played.result_json
    assert result is not None
    # every answer the nurse typed reaches the record
    logged = [e["question"] for e in result["answer_log"] if e["kind"] == "answer"]
    assert logged == played.asked


# "Does not know" vignettes beside the same call with the answer known and benign: the
# unknown must give a strictly more urgent outcome, say so in the note, and be recorded.
DONT_KNOW = [
    (v, {q: benign})
    for v in VIGNETTES
    for q, benign in {
        "pregnant": "no",
        "hours_since_pain": "240",
        "knocked_out_now_awake": "no",
        "fell_from_height": "no",
        "minutes_to_peak": "30",
        "has_fever": "no",
        "weeks_pregnant": "38",
        "last_urine": "2 hours",
        "troponin_3h_ratio": "0.5",
        "temperature_c": "38.5",
    }.items()
    if v.says.get(q) == "?" and not v.name.endswith("(hazard log: open)")
]


def _rank(v: Vignette) -> int:
    result = play(v).result_json
    assert result is not None
    return int(result["urgency"]["rank"])


@pytest.mark.parametrize("v, known", DONT_KNOW, ids=[_id(v) for v, _ in DONT_KNOW])
def test_dont_know_errs_toward_urgency_and_the_note_says_so(v: Vignette, known: dict[str, str]) -> None:
    played = play(v)
    result = played.result_json
    assert result is not None
    (qid,) = known
    assert result["answers"][qid] == "unknown"
    assert qid in {a["question"] for a in result["assumptions"]}
    assert "Assumption: the caller does not know" in played.transcript
    benign = Vignette(v.protocol, v.name, v.source, {**v.says, **known}, "", "")
    assert result["urgency"]["rank"] < _rank(benign)


def test_every_protocol_has_three_vignettes() -> None:
    protocols = sorted(
        str(p.relative_to(ROOT / "protocols"))
        for folder in ("telephone", "pathways")
        for p in (ROOT / "protocols" / folder).glob("*.triage")
        if p.stem != "shared"
    )
    counts = {p: sum(v.protocol == p for v in VIGNETTES) for p in protocols}
    assert all(n >= 3 for n in counts.values()), counts
    assert len(DONT_KNOW) >= 10


# One vignette a protocol through the real command, the nurse's typing piped to it.
FIRST_PER_PROTOCOL = list({v.protocol: v for v in reversed(VIGNETTES)}.values())


@pytest.mark.parametrize("v", FIRST_PER_PROTOCOL, ids=_id)
def test_vignette_through_the_command_with_input_piped(v: Vignette) -> None:
    played = play(v)
    typed = ["1", "", "N1", v.name, *played.typed]
    proc = subprocess.run(
        [sys.executable, "-m", "triage_dsl", "run", str(ROOT / "protocols" / v.protocol), "--at", AT],
        input="\n".join(typed) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert f"({v.disposition})" in proc.stdout
    assert f"(tier {v.tier}" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


# ------------------------------------------------------------------ a "yes" is never dropped
# Every telephone and pathway protocol, with one finding answered yes at a time (everything else no,
# the numbers of an ordinary call): a question the interview asked and the caller answered
# yes must be read by the evaluation that gives the outcome. A yes that no criterion reads
# is a finding heard and dropped: the interview asked a follow-up before the question that
# gates it (questions of imported libraries are asked after the protocol's own).
ORDINARY = {
    T + "abdominal_pain_adult.triage": ADULT,
    T + "allergic_reaction.triage": {"patient_age_years": "30"},
    T + "breathing_difficulty_adult.triage": {"patient_age_years": "40", "spo2": "97"},
    T + "chest_pain_adult.triage": {
        "patient_age_years": "58",
        "hours_since_pain": "240",
        "pain_minutes": "5",
        **NOT_PREGNANT,
    },
    T + "fever_child.triage": {"child_age": "2 years", "temperature_c": "38.5", "fever_started": "1 day"},
    T + "head_injury.triage": {"patient_age_years": "30"},
    T + "headache_adult.triage": {
        "pain_severity": "2",
        "patient_age_years": "30",
        "minutes_to_peak": "30",
        **NOT_PREGNANT,
    },
    T + "medication_question.triage": {**ADULT, "missed_dose_medicine": "4"},
    T + "mental_health_crisis.triage": ADULT,
    T + "post_operative_concern.triage": {"patient_age": "60 years", "temperature_c": "37.0"},
    T + "pregnancy_concern.triage": {"stage": "1", "weeks_pregnant": "30"},
    T + "vomiting_diarrhea_dehydration.triage": {"patient_age": "40 years", "last_urine": "2 hours"},
    PW + "esi_pathway.triage": {
        "pain_score": "2",
        "age_months": "360",
        "temp_c": "37",
        "resources": "1",
        "spo2": "98",
        "heart_rate": "80",
        "resp_rate": "16",
    },
    PW + "heart_pathway.triage": {
        "troponin_3h_ratio": "0.5",
        "history": "1",
        "ecg": "1",
        "age": "40",
        "risk_factor_count": "0",
        "troponin_ratio": "0.5",
    },
    PW + "ottawa_ankle_pathway.triage": {},
    PW + "pneumonia_severity_pathway.triage": {
        "urea_mmol_l": "5",
        "resp_rate": "18",
        "sbp": "120",
        "dbp": "80",
        "age": "40",
    },
    PW + "sore_throat_pathway.triage": {"age": "30", "temp_c": "37", "cough": "yes"},
}

# By the source: a finding that counts only with another one, asked before it.
DROPPED_BY_DESIGN = {
    # NICE head injury, telephone advice 1.1.2: an ambulance when the caller cannot get
    # the patient to the ED safely "providing any other risk factor ... is present".
    (T + "head_injury.triage", "no_safe_transport"),
}


def _single_findings() -> list[object]:
    out: list[object] = []
    for path, base in ORDINARY.items():
        plan = protocol_at(path).plan
        for qid, q in plan.questions.items():
            if q.type != "yes/no" or qid in base or (path, qid) in DROPPED_BY_DESIGN:
                continue
            out.append(pytest.param(path, qid, id=f"{Path(path).stem}: {qid}"))
    return out


def test_the_ordinary_calls_cover_every_telephone_and_pathway_protocol() -> None:
    def is_library(path: Path) -> bool:
        return any(line.startswith("library ") for line in path.read_text(encoding="utf-8").splitlines())

    shipped = {
        f"{folder}/{p.name}"
        for folder in ("telephone", "pathways")
        for p in (ROOT / "protocols" / folder).glob("*.triage")
        if not is_library(p)
    }
    assert shipped == set(ORDINARY)


@pytest.mark.parametrize("path, qid", _single_findings())
def test_a_finding_answered_yes_is_never_dropped(path: str, qid: str) -> None:
    played = play(Vignette(path, qid, "", {**ORDINARY[path], qid: "yes"}, "", ""))
    result = played.result_json
    assert result is not None
    if qid in played.asked:
        assert qid in result["asked"], f"'{qid}' answered yes, read by no criterion: {played.disposition}"
