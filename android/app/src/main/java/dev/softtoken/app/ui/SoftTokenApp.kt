package dev.softtoken.app.ui

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
import androidx.compose.foundation.text.selection.SelectionContainer
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material.icons.filled.MoreVert
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material3.AlertDialog
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
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import com.journeyapps.barcodescanner.ScanContract
import com.journeyapps.barcodescanner.ScanOptions
import androidx.activity.compose.rememberLauncherForActivityResult
import dev.softtoken.app.R
import dev.softtoken.app.core.ClipRequest
import dev.softtoken.app.core.Countdown
import dev.softtoken.app.core.Message
import dev.softtoken.app.core.ScreenState
import dev.softtoken.app.core.TokenCard
import dev.softtoken.app.core.TokenScreenModel
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext

/** The app: the token screen, redrawn every second from the model's state. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun SoftTokenApp(model: TokenScreenModel, copy: (ClipRequest) -> Unit) {
    var state by remember { mutableStateOf(model.state) }
    val snackbar = remember { SnackbarHostState() }
    var importing by remember { mutableStateOf(false) }
    var settings by remember { mutableStateOf(false) }
    var confirm by remember { mutableStateOf<Pair<String, TokenCard>?>(null) }
    val copiedCode = stringResource(R.string.code_copied)
    val copiedSerial = stringResource(R.string.serial_copied)
    val scan = rememberLauncherForActivityResult(ScanContract()) { result ->
        result.contents?.let { state = model.import(it) }
    }

    LaunchedEffect(Unit) {
        state = withContext(Dispatchers.IO) { model.start() }
        while (true) {
            delay(Countdown.millisToNextSecond(System.currentTimeMillis()))
            state = withContext(Dispatchers.IO) { model.tick() }
        }
    }
    val message = (state as? ScreenState.Ready)?.message
    val text = message?.let { messageText(it) }
    LaunchedEffect(message) { text?.let { snackbar.showSnackbar(it) } }

    MaterialTheme {
        Scaffold(
            topBar = {
                TopAppBar(
                    title = { Text(stringResource(R.string.app_name)) },
                    actions = {
                        if (state is ScreenState.Ready) {
                            IconButton(onClick = { importing = true }) { Icon(Icons.Filled.Add, stringResource(R.string.import_account)) }
                            IconButton(onClick = { settings = true }) { Icon(Icons.Filled.Settings, stringResource(R.string.settings)) }
                        }
                    },
                )
            },
            snackbarHost = { SnackbarHost(snackbar) },
        ) { padding ->
            Box(Modifier.padding(padding).fillMaxSize()) {
                when (val s = state) {
                    ScreenState.Loading -> CircularProgressIndicator(Modifier.align(Alignment.Center))
                    is ScreenState.Unreadable -> Unreadable(s.detail)
                    is ScreenState.Ready -> TokenList(
                        cards = s.cards,
                        onCopyCode = { serial -> model.copy(serial)?.let { copy(it); state = model.tick() } },
                        onCopySerial = { serial -> model.copySerial(serial)?.let(copy) },
                        onAction = { action, card -> confirm = action to card },
                    )
                }
            }
        }
        if (importing) {
            ImportDialog(
                onImport = { uri -> importing = false; state = model.import(uri) },
                onScan = { importing = false; scan.launch(ScanOptions().setDesiredBarcodeFormats(ScanOptions.QR_CODE).setBeepEnabled(false)) },
                onDismiss = { importing = false },
            )
        }
        if (settings) {
            OffsetDialog(onSave = { seconds -> settings = false; state = model.setClockOffset(seconds) }, onDismiss = { settings = false })
        }
        confirm?.let { (action, card) ->
            val reissue = action == "reissue"
            AlertDialog(
                onDismissRequest = { confirm = null },
                title = { Text(stringResource(if (reissue) R.string.reissue_title else R.string.delete_title)) },
                text = { Text(stringResource(if (reissue) R.string.reissue_body else R.string.delete_body, card.displaySerial)) },
                confirmButton = {
                    TextButton(onClick = {
                        confirm = null
                        state = if (reissue) model.reissue(card.serial) else model.delete(card.serial)
                    }) { Text(stringResource(if (reissue) R.string.reissue else R.string.delete)) }
                },
                dismissButton = { TextButton(onClick = { confirm = null }) { Text(stringResource(R.string.cancel)) } },
            )
        }
    }
}

@Composable
private fun messageText(m: Message): String = when (m.kind) {
    Message.Kind.ISSUED -> stringResource(R.string.msg_issued, m.detail)
    Message.Kind.IMPORTED -> stringResource(R.string.msg_imported, m.detail)
    Message.Kind.IMPORT_FAILED -> stringResource(R.string.msg_import_failed, m.detail)
    Message.Kind.DELETED -> stringResource(R.string.msg_deleted, m.detail)
    Message.Kind.REISSUED -> stringResource(R.string.msg_reissued, m.detail)
    Message.Kind.OFFSET_SET -> stringResource(R.string.msg_offset_set, m.detail)
    Message.Kind.FAILED -> stringResource(R.string.msg_failed, m.detail)
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
private fun Unreadable(detail: String) {
    Column(Modifier.fillMaxSize().padding(24.dp), verticalArrangement = Arrangement.Center) {
        Text(stringResource(R.string.unreadable_title), style = MaterialTheme.typography.headlineSmall)
        Spacer(Modifier.size(12.dp))
        Text(stringResource(R.string.unreadable_body), style = MaterialTheme.typography.bodyLarge)
        Spacer(Modifier.size(12.dp))
        Text(detail, style = MaterialTheme.typography.bodySmall)
    }
}

@Composable
private fun ImportDialog(onImport: (String) -> Unit, onScan: () -> Unit, onDismiss: () -> Unit) {
    var uri by remember { mutableStateOf("") }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.import_account)) },
        text = {
            Column {
                OutlinedTextField(value = uri, onValueChange = { uri = it }, label = { Text(stringResource(R.string.import_hint)) })
                TextButton(onClick = onScan) { Text(stringResource(R.string.scan_qr)) }
            }
        },
        confirmButton = { TextButton(onClick = { onImport(uri) }, enabled = uri.isNotBlank()) { Text(stringResource(R.string.import_action)) } },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
}

@Composable
private fun OffsetDialog(onSave: (Long) -> Unit, onDismiss: () -> Unit) {
    var text by remember { mutableStateOf("0") }
    val seconds = text.trim().toLongOrNull()
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.settings)) },
        text = {
            OutlinedTextField(
                value = text,
                onValueChange = { text = it },
                label = { Text(stringResource(R.string.clock_offset)) },
                supportingText = { Text(stringResource(R.string.clock_offset_hint)) },
                isError = seconds == null,
            )
        },
        confirmButton = { TextButton(onClick = { seconds?.let(onSave) }, enabled = seconds != null) { Text(stringResource(R.string.save)) } },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
    )
}
