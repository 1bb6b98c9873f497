package dev.softtoken.app.ui

import android.content.res.Resources
import android.text.InputType
import android.view.View
import android.view.inputmethod.EditorInfo
import android.widget.EditText
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.text.selection.SelectionContainer
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material.icons.filled.Info
import androidx.compose.material.icons.filled.MoreVert
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.DropdownMenu
import androidx.compose.material3.DropdownMenuItem
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.SnackbarHost
import androidx.compose.material3.SnackbarHostState
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.viewinterop.AndroidView
import androidx.core.widget.doAfterTextChanged
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.compose.ui.unit.dp
import com.journeyapps.barcodescanner.ScanContract
import com.journeyapps.barcodescanner.ScanOptions
import androidx.activity.compose.rememberLauncherForActivityResult
import dev.softtoken.app.AppViewModel
import dev.softtoken.app.BuildConfig
import dev.softtoken.app.Clipboard
import dev.softtoken.app.Notice
import dev.softtoken.app.R
import dev.softtoken.app.core.BankNames
import dev.softtoken.app.core.ClockStatus
import dev.softtoken.app.core.Help
import dev.softtoken.app.core.HelpText
import dev.softtoken.app.core.StartState
import dev.softtoken.app.core.Message
import dev.softtoken.app.core.ScreenState
import dev.softtoken.app.core.TokenCard

/** The app: the start (provisioning, offline and retry), then the token screen, redrawn from the view model's state. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun SoftTokenApp(app: AppViewModel, clipboard: Clipboard) {
    val start by app.start.collectAsStateWithLifecycle()
    val state by app.screen.collectAsStateWithLifecycle()
    val clock by app.clock.collectAsStateWithLifecycle()
    val snackbar = remember { SnackbarHostState() }
    var importing by remember { mutableStateOf(false) }
    var settings by remember { mutableStateOf(false) }
    var help by remember { mutableStateOf(false) }
    var confirm by remember { mutableStateOf<Pair<String, TokenCard>?>(null) }
    val names = bankNames()
    val resources = LocalContext.current.resources
    val scan = rememberLauncherForActivityResult(ScanContract()) { result ->
        result.contents?.let { app.import(it) }
    }

    // Every notice is shown once, in order, however often the tick redraws the screen.
    LaunchedEffect(app) {
        app.notices.collect { notice -> snackbar.showSnackbar(noticeText(resources, notice, names)) }
    }

    MaterialTheme {
        Scaffold(
            topBar = {
                TopAppBar(
                    title = { Text(stringResource(if (help) R.string.help else R.string.app_name)) },
                    actions = {
                        if (help) {
                            TextButton(onClick = { help = false }) { Text(stringResource(R.string.close)) }
                        } else {
                            IconButton(onClick = { help = true }) { Icon(Icons.Filled.Info, stringResource(R.string.help)) }
                            if (start is StartState.Ready && state is ScreenState.Ready) {
                                IconButton(onClick = { importing = true }) { Icon(Icons.Filled.Add, stringResource(R.string.import_account)) }
                                IconButton(onClick = { settings = true }) { Icon(Icons.Filled.Settings, stringResource(R.string.settings)) }
                            }
                        }
                    },
                )
            },
            snackbarHost = { SnackbarHost(snackbar) },
        ) { padding ->
            Box(Modifier.padding(padding).fillMaxSize()) {
                when {
                    help -> HelpScreen(names)
                    start !is StartState.Ready -> StartScreen(start, names, onRetry = app::retry)
                    else -> when (val s = state) {
                        ScreenState.Loading -> CircularProgressIndicator(Modifier.align(Alignment.Center))
                        is ScreenState.Unreadable -> Unreadable(s.detail, names)
                        is ScreenState.Ready -> TokenList(
                            cards = s.cards,
                            onCopyCode = { serial -> app.copyCode(serial, clipboard) },
                            onCopySerial = { serial -> app.copySerial(serial, clipboard) },
                            onAction = { action, card -> confirm = action to card },
                        )
                    }
                }
            }
        }
        if (importing) {
            ImportDialog(
                onImport = { uri -> importing = false; app.import(uri) },
                onScan = { importing = false; scan.launch(ScanOptions().setDesiredBarcodeFormats(ScanOptions.QR_CODE).setBeepEnabled(false)) },
                onDismiss = { importing = false },
            )
        }
        if (settings) {
            SettingsDialog(
                clock = clock,
                onSync = app::syncClock,
                onSave = { seconds -> settings = false; app.setClockOffset(seconds) },
                onDismiss = { settings = false },
            )
        }
        confirm?.let { (action, card) ->
            val reissue = action == "reissue"
            val warning = if (reissue) Help.reissueWarning(card.displaySerial, names) else Help.deleteWarning(card.displaySerial, names)
            AlertDialog(
                onDismissRequest = { confirm = null },
                title = { Text(stringResource(if (reissue) R.string.reissue_title else R.string.delete_title)) },
                text = { Text(helpText(warning)) },
                confirmButton = {
                    TextButton(onClick = {
                        confirm = null
                        if (reissue) app.reissue(card.serial) else app.delete(card.serial)
                    }) { Text(stringResource(if (reissue) R.string.reissue else R.string.delete)) }
                },
                dismissButton = { TextButton(onClick = { confirm = null }) { Text(stringResource(R.string.cancel)) } },
            )
        }
    }
}

/** The bank's names as this build sets them, in the language the resources resolved to. */
@Composable
private fun bankNames(): BankNames = BankNames.of(
    stringResource(R.string.lang),
    BuildConfig.BANK_NAME_EN,
    BuildConfig.BRANCH_NAME_EN,
    BuildConfig.BANK_NAME_JA,
    BuildConfig.BRANCH_NAME_JA,
)

/** The start before the token screen: progress, or why there is no token yet and a retry. */
@Composable
private fun StartScreen(start: StartState, names: BankNames, onRetry: () -> Unit) {
    Column(
        Modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.Center,
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        when (start) {
            StartState.Opening, StartState.Provisioning -> {
                CircularProgressIndicator()
                Spacer(Modifier.size(16.dp))
                Text(stringResource(if (start == StartState.Opening) R.string.start_opening else R.string.start_provisioning))
            }
            is StartState.Offline -> Failure(stringResource(R.string.start_offline_title), stringResource(R.string.start_offline_body), start.detail, onRetry)
            is StartState.RateLimited -> Failure(stringResource(R.string.start_rate_limited_title), null, start.detail, onRetry)
            is StartState.ServiceFailed -> Failure(
                stringResource(R.string.start_failed_title),
                stringResource(R.string.start_failed_body, names.bank),
                start.detail,
                onRetry,
            )
            is StartState.Unreadable -> Unreadable(start.detail, names)
            is StartState.Ready -> Unit
        }
    }
}

@Composable
private fun Failure(title: String, body: String?, detail: String, onRetry: () -> Unit) {
    Text(title, style = MaterialTheme.typography.headlineSmall)
    Spacer(Modifier.size(12.dp))
    body?.let { Text(it, style = MaterialTheme.typography.bodyLarge) }
    Spacer(Modifier.size(12.dp))
    Text(detail, style = MaterialTheme.typography.bodySmall)
    Spacer(Modifier.size(24.dp))
    Button(onClick = onRetry) { Text(stringResource(R.string.retry)) }
}

/** The guide's answers in the app's words (ja + en), from the platform-free help model. */
@Composable
private fun HelpScreen(names: BankNames) {
    LazyColumn(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
        items(Help.sections(names, BuildConfig.LOCKOUT_TRIES), key = { it.topic }) { section ->
            Column(verticalArrangement = Arrangement.spacedBy(6.dp)) {
                Text(helpText(section.title), style = MaterialTheme.typography.titleMedium)
                section.paragraphs.forEach { Text(helpText(it), style = MaterialTheme.typography.bodyMedium) }
            }
        }
    }
}

/** A help text in the resources' language. */
@Composable
private fun helpText(text: HelpText): String = stringResource(helpString(text.id), *text.args.toTypedArray())

/** The string resource of a help text's id (a table, so that every string is checked in both languages). */
private fun helpString(id: String): Int = when (id) {
    "help_register_title" -> R.string.help_register_title
    "help_register_body" -> R.string.help_register_body
    "help_register_serial" -> R.string.help_register_serial
    "help_locked_title" -> R.string.help_locked_title
    "help_locked_clock" -> R.string.help_locked_clock
    "help_locked_tries" -> R.string.help_locked_tries
    "help_locked_tries_unknown" -> R.string.help_locked_tries_unknown
    "help_locked_unlock" -> R.string.help_locked_unlock
    "help_lost_title" -> R.string.help_lost_title
    "help_lost_call" -> R.string.help_lost_call
    "help_lost_found" -> R.string.help_lost_found
    "help_change_title" -> R.string.help_change_title
    "help_change_install" -> R.string.help_change_install
    "help_change_exchange" -> R.string.help_change_exchange
    "help_change_after" -> R.string.help_change_after
    "help_gone_title" -> R.string.help_gone_title
    "help_gone_new_serial" -> R.string.help_gone_new_serial
    "help_gone_reissue" -> R.string.help_gone_reissue
    "help_discard_title" -> R.string.help_discard_title
    "help_discard_body" -> R.string.help_discard_body
    "help_cautions_title" -> R.string.help_cautions_title
    "help_cautions_spyware" -> R.string.help_cautions_spyware
    "help_cautions_updates" -> R.string.help_cautions_updates
    "reissue_body" -> R.string.reissue_body
    "delete_body" -> R.string.delete_body
    else -> error("no string for help text $id")
}

private fun noticeText(res: Resources, notice: Notice, names: BankNames): String = when (notice) {
    is Notice.Model -> messageText(res, notice.message, names)
    Notice.CodeCopied -> res.getString(R.string.code_copied)
    Notice.SerialCopied -> res.getString(R.string.serial_copied)
    Notice.NoClipboard -> res.getString(R.string.no_clipboard)
    is Notice.ClockSynced -> res.getString(R.string.msg_clock_synced, notice.offsetSeconds.toString())
    is Notice.ClockNotSynced -> res.getString(R.string.msg_clock_not_synced, notice.detail)
}

private fun messageText(res: Resources, m: Message, names: BankNames): String = when (m.kind) {
    Message.Kind.ISSUED -> res.getString(R.string.msg_issued, m.detail, names.bank)
    Message.Kind.IMPORTED -> res.getString(R.string.msg_imported, m.detail)
    Message.Kind.IMPORT_FAILED -> res.getString(R.string.msg_import_failed, m.detail)
    Message.Kind.DELETED -> res.getString(R.string.msg_deleted, m.detail)
    Message.Kind.REISSUED -> res.getString(R.string.msg_reissued, m.detail, names.bank)
    Message.Kind.OFFSET_SET -> res.getString(R.string.msg_offset_set, m.detail)
    Message.Kind.FAILED -> res.getString(R.string.msg_failed, m.detail)
}

@Composable
private fun TokenList(
    cards: List<TokenCard>,
    onCopyCode: (String) -> Unit,
    onCopySerial: (String) -> Unit,
    onAction: (String, TokenCard) -> Unit,
) {
    LazyColumn(Modifier.fillMaxSize().padding(16.dp), verticalArrangement = Arrangement.spacedBy(16.dp)) {
        items(cards, key = { it.serial }) { card ->
            if (!card.issuedHere && card == cards.firstOrNull { !it.issuedHere }) {
                Text(stringResource(R.string.other_accounts), style = MaterialTheme.typography.titleMedium)
            }
            TokenCardView(card, big = card.issuedHere, onCopyCode, onCopySerial, onAction)
        }
    }
}

@Composable
private fun TokenCardView(
    card: TokenCard,
    big: Boolean,
    onCopyCode: (String) -> Unit,
    onCopySerial: (String) -> Unit,
    onAction: (String, TokenCard) -> Unit,
) {
    var menu by remember { mutableStateOf(false) }
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(16.dp)) {
            Row(verticalAlignment = Alignment.CenterVertically) {
                Column(Modifier.weight(1f)) {
                    Text(card.title, style = MaterialTheme.typography.titleMedium)
                    Text(stringResource(R.string.serial_number), style = MaterialTheme.typography.labelMedium)
                    SelectionContainer {
                        Text(
                            card.displaySerial,
                            style = MaterialTheme.typography.titleLarge,
                            fontFamily = FontFamily.Monospace,
                            modifier = Modifier.semantics { contentDescription = card.spokenSerial },
                        )
                    }
                }
                TextButton(onClick = { onCopySerial(card.serial) }) { Text(stringResource(R.string.copy_serial)) }
                Box {
                    IconButton(onClick = { menu = true }) { Icon(Icons.Filled.MoreVert, null) }
                    DropdownMenu(expanded = menu, onDismissRequest = { menu = false }) {
                        if (card.issuedHere) {
                            DropdownMenuItem(text = { Text(stringResource(R.string.reissue)) }, onClick = { menu = false; onAction("reissue", card) })
                        }
                        DropdownMenuItem(text = { Text(stringResource(R.string.delete)) }, onClick = { menu = false; onAction("delete", card) })
                    }
                }
            }
            Spacer(Modifier.size(12.dp))
            Text(stringResource(R.string.security_code), style = MaterialTheme.typography.labelMedium)
            val countdown = card.countdown
            if (card.groupedCode != null && countdown != null) {
                val spokenLeft = stringResource(R.string.seconds_left_spoken, countdown.secondsLeft)
                Row(verticalAlignment = Alignment.CenterVertically, modifier = Modifier.clickable { onCopyCode(card.serial) }) {
                    Text(
                        card.groupedCode,
                        style = if (big) MaterialTheme.typography.displayMedium else MaterialTheme.typography.headlineMedium,
                        fontFamily = FontFamily.Monospace,
                        fontWeight = FontWeight.SemiBold,
                        modifier = Modifier.weight(1f).semantics { contentDescription = card.spokenCode ?: "" },
                    )
                    Box(contentAlignment = Alignment.Center, modifier = Modifier.semantics { contentDescription = spokenLeft }) {
                        CircularProgressIndicator(
                            progress = { countdown.remaining },
                            modifier = Modifier.size(if (big) 56.dp else 40.dp),
                            color = if (countdown.ending) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.primary,
                        )
                        Text(countdown.secondsLeft.toString(), style = MaterialTheme.typography.labelLarge)
                    }
                }
                Text(stringResource(R.string.seconds_left, countdown.secondsLeft), style = MaterialTheme.typography.bodySmall)
                card.nextCode?.let { Text(stringResource(R.string.next_code, it), style = MaterialTheme.typography.bodyMedium) }
                Text(stringResource(R.string.tap_to_copy), style = MaterialTheme.typography.bodySmall)
            } else {
                Text(stringResource(R.string.counter_based), modifier = Modifier.clickable { onCopyCode(card.serial) })
            }
        }
    }
}

@Composable
private fun Unreadable(detail: String, names: BankNames) {
    Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.Center) {
        Text(stringResource(R.string.unreadable_title), style = MaterialTheme.typography.headlineSmall)
        Spacer(Modifier.size(12.dp))
        Text(stringResource(R.string.unreadable_body, names.bank, names.branch), style = MaterialTheme.typography.bodyLarge)
        Spacer(Modifier.size(12.dp))
        Text(detail, style = MaterialTheme.typography.bodySmall)
    }
}

/**
 * The key-URI field holds a secret: a platform EditText that asks the keyboard not to
 * learn from it (IME_FLAG_NO_PERSONALIZED_LEARNING, which Compose's text fields cannot
 * set) and offers no suggestions or autocorrection.
 */
@Composable
private fun ImportDialog(onImport: (String) -> Unit, onScan: () -> Unit, onDismiss: () -> Unit) {
    var uri by remember { mutableStateOf("") }
    val hintText = stringResource(R.string.import_hint)
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.import_account)) },
        text = {
            Column {
                AndroidView(
                    modifier = Modifier.fillMaxWidth(),
                    factory = { context ->
                        EditText(context).apply {
                            hint = hintText
                            maxLines = 1
                            inputType = InputType.TYPE_CLASS_TEXT or InputType.TYPE_TEXT_VARIATION_URI or InputType.TYPE_TEXT_FLAG_NO_SUGGESTIONS
                            imeOptions = EditorInfo.IME_FLAG_NO_PERSONALIZED_LEARNING or EditorInfo.IME_ACTION_DONE
                            importantForAutofill = View.IMPORTANT_FOR_AUTOFILL_NO
                            doAfterTextChanged { uri = it?.toString() ?: "" }
                        }
                    },
                )
                TextButton(onClick = onScan) { Text(stringResource(R.string.scan_qr)) }
            }
        },
        confirmButton = { TextButton(onClick = { onImport(uri) }, enabled = uri.isNotBlank()) { Text(stringResource(R.string.import_action)) } },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
}

/** Settings: the clock offset as it stands (from the service, or by hand), a re-sync, and the manual correction starting at the current value. */
@Composable
private fun SettingsDialog(clock: ClockStatus?, onSync: () -> Unit, onSave: (Long) -> Unit, onDismiss: () -> Unit) {
    var text by remember { mutableStateOf((clock?.offsetSeconds ?: 0L).toString()) }
    val seconds = text.trim().toLongOrNull()
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.settings)) },
        text = {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                clock?.let { c ->
                    Text(stringResource(R.string.clock_offset_now, c.offsetSeconds), style = MaterialTheme.typography.titleSmall)
                    Text(
                        when (c) {
                            is ClockStatus.Synced -> stringResource(R.string.clock_synced)
                            is ClockStatus.NotSynced -> stringResource(R.string.clock_not_synced, c.detail)
                            is ClockStatus.Manual -> stringResource(R.string.clock_manual)
                        },
                        style = MaterialTheme.typography.bodySmall,
                    )
                }
                TextButton(onClick = onSync) { Text(stringResource(R.string.sync_clock)) }
                OutlinedTextField(
                    value = text,
                    onValueChange = { text = it },
                    label = { Text(stringResource(R.string.clock_offset)) },
                    supportingText = { Text(stringResource(R.string.clock_offset_hint)) },
                    isError = seconds == null,
                    singleLine = true,
                    // A signed number: the keyboard with a minus sign, and nothing to autocorrect.
                    keyboardOptions = KeyboardOptions(autoCorrectEnabled = false),
                )
            }
        },
        confirmButton = { TextButton(onClick = { seconds?.let(onSave) }, enabled = seconds != null) { Text(stringResource(R.string.edit_offset)) } },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
}
