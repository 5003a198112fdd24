/*
 * plugin.c - msfaq_plugin_entry(), the one symbol a dlopen() host needs.
 *
 * The table is static and const: hosts may call the entry point from any
 * thread, any number of times.  Members are only ever appended (SQLite's
 * sqlite3_api_routines rule), so a host built against ABI 1 keeps working
 * with a later plugin of ABI 1 that has a longer table.
 */
#include "msfaq_private.h"

static const msfaq_plugin table = {
    .abi = MSFAQ_PLUGIN_ABI,
    .size = sizeof(msfaq_plugin),
    .version = MSFAQ_VERSION_STRING,
    .kb_open = msfaq_kb_open,
    .kb_close = msfaq_kb_close,
    .ask = msfaq_ask,
    .result_free = msfaq_result_free,
    .result_kind = msfaq_result_kind,
    .result_intent = msfaq_result_intent,
    .result_confidence = msfaq_result_confidence,
    .result_answer = msfaq_result_answer,
    .result_section = msfaq_result_section,
    .result_follow_up_count = msfaq_result_follow_up_count,
    .result_follow_up = msfaq_result_follow_up,
    .result_json = msfaq_result_json,
    .result_explain = msfaq_result_explain,
    .kind_name = msfaq_kind_name,
    .strerror = msfaq_strerror,
};

const msfaq_plugin *msfaq_plugin_entry(uint32_t host_abi)
{
    /* one ABI so far; a host built for another gets a clear refusal */
    return host_abi == MSFAQ_PLUGIN_ABI ? &table : NULL;
}
