//! Choosing tokens: the sampler chain, sampling under a tool call's grammar, writing known
//! tokens into a call, and spotting a model that has fallen into a loop.

use super::*;

impl Session<'_> {
    /// Writes `tokens` into an open call as if sampled, when the grammar admits every one of
    /// them (checked first, on a copy, so a refusal changes nothing); returns the batch index of
    /// the last one's logits, or `None` when the grammar refused.
    pub(super) fn feed_call(
        &mut self,
        tokens: &[LlamaToken],
        grammar: &mut LlamaSampler,
        chain: &mut LlamaSampler,
        bytes: &mut Vec<u8>,
        tx: &Tx,
    ) -> Result<Option<i32>, Stop> {
        let mut trial = grammar.clone();
        for &token in tokens {
            let mut one =
                LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
            one.apply_sampler(&mut trial);
            if !one.data.first().is_some_and(|d| d.logit().is_finite())
                || trial.try_accept(token).is_err()
            {
                return Ok(None);
            }
        }
        *grammar = trial;
        for &token in tokens {
            chain.accept(token);
            bytes.extend_from_slice(&self.model.vocab().token_to_piece(token, true, None));
        }
        Ok(Some(self.eval(tokens, Some(tx))?))
    }

    pub(super) fn sampler(&self, opts: &GenOptions) -> LlamaSampler {
        let mut chain = Vec::new();
        let mut banned: Vec<LlamaToken> = Vec::new();
        if opts.ignore_eos {
            banned.extend(self.eog.iter().chain(&self.control));
        }
        if opts.ban_call_tag {
            // The opening tag, when the model has a token for it.
            if let [open] = self.tokenize_markup(CALL_OPEN)[..] {
                banned.push(open);
            }
        }
        if !banned.is_empty() {
            let biases: Vec<LlamaLogitBias> = banned
                .iter()
                .map(|&t| LlamaLogitBias::new(t, f32::NEG_INFINITY))
                .collect();
            chain.push(LlamaSampler::logit_bias(self.model.n_vocab(), &biases));
        }
        if opts.repeat_penalty != 1.0 && opts.repeat_penalty > 0.0 && opts.repeat_last_n > 0 {
            chain.push(LlamaSampler::penalties(
                self.model.n_vocab(),
                opts.repeat_last_n,
                opts.repeat_penalty,
                0.0,
                0.0,
            ));
        }
        if opts.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            chain.push(LlamaSampler::top_k(opts.top_k.max(1)));
            chain.push(LlamaSampler::top_p(opts.top_p.clamp(0.01, 1.0), 1));
            chain.push(LlamaSampler::temp(opts.temperature));
            chain.push(LlamaSampler::dist(opts.seed));
        }
        LlamaSampler::chain_simple(chain)
    }

    /// Samples under the grammar. The usual choice is tried first and only checked against the
    /// grammar (cheap); only when the grammar rejects it is the whole vocabulary filtered (as
    /// llama.cpp's own sampler does). The chosen token is always one the grammar accepts, so
    /// accepting it cannot fail inside llama.cpp.
    pub(super) fn sample_constrained(
        &self,
        idx: i32,
        chain: &mut LlamaSampler,
        grammar: &mut LlamaSampler,
    ) -> Result<LlamaToken, Stop> {
        let logits = self.ctx.get_logits_ith(idx);
        let candidates = || {
            LlamaTokenDataArray::new(
                logits
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| LlamaTokenData::new(LlamaToken::new(i as i32), l, 0.0))
                    .collect(),
                false,
            )
        };
        let mut all = candidates();
        all.apply_sampler(chain);
        if let Some(token) = all.selected_token() {
            if !self.control.contains(&token) {
                let mut one =
                    LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
                one.apply_sampler(grammar);
                if one.data.first().is_some_and(|d| d.logit().is_finite()) {
                    return Ok(token);
                }
            }
        }
        let mut all = candidates();
        for &t in &self.control {
            if let Some(d) = all.data.get_mut(t.0 as usize) {
                d.set_logit(f32::NEG_INFINITY);
            }
        }
        all.apply_sampler(grammar);
        if !all.data.iter().any(|d| d.logit().is_finite()) {
            return Err(Stop::Fatal(
                "the tool-call grammar admits no token of this model".into(),
            ));
        }
        all.apply_sampler(chain);
        match all.selected_token() {
            Some(token)
                if all
                    .data
                    .iter()
                    .any(|d| d.id() == token && d.logit().is_finite()) =>
            {
                Ok(token)
            }
            _ => Err(Stop::Fatal(
                "sampling under the tool-call grammar chose no token".into(),
            )),
        }
    }
}

/// How many times a tool call that fell into a loop is sampled again before the reply gives up.
pub(super) const MAX_CALL_RESTARTS: u32 = 2;

/// Whether the last tokens are one short cycle repeated: a cycle of up to 16 tokens filling the
/// last 48 tokens (at least 6 rounds). Real code and prose do not repeat this exactly for this
/// long; a model stuck in a loop does.
pub(super) fn is_looping(tokens: &[LlamaToken]) -> bool {
    const WINDOW: usize = 48;
    if tokens.len() < WINDOW {
        return false;
    }
    let tail = &tokens[tokens.len() - WINDOW..];
    (1..=WINDOW / 3).any(|period| (period..WINDOW).all(|i| tail[i] == tail[i - period]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(ids: &[i32]) -> Vec<LlamaToken> {
        ids.iter().map(|&i| LlamaToken::new(i)).collect()
    }

    #[test]
    fn a_short_cycle_repeated_is_a_loop() {
        let cycle = [15, 13, 15, 1699];
        let ids: Vec<i32> = cycle.iter().copied().cycle().take(48).collect();
        assert!(is_looping(&tokens(&ids)));
        // Text before the cycle does not matter; only the last 48 tokens do.
        let mut longer = vec![1, 2, 3, 4, 5];
        longer.extend(cycle.iter().copied().cycle().take(60));
        assert!(is_looping(&tokens(&longer)));
    }

    #[test]
    fn text_that_does_not_repeat_is_not_a_loop() {
        let ids: Vec<i32> = (0..200).collect();
        assert!(!is_looping(&tokens(&ids)));
        // Too short to tell.
        assert!(!is_looping(&tokens(&[7; 47])));
        // A cycle of 17 (longer than 16) tokens repeated is left alone.
        let ids: Vec<i32> = (0..17).cycle().take(100).collect();
        assert!(!is_looping(&tokens(&ids)));
        // One token breaking the cycle inside the window.
        let mut ids: Vec<i32> = [5, 6].iter().copied().cycle().take(48).collect();
        ids[30] = 9;
        assert!(!is_looping(&tokens(&ids)));
    }
}
